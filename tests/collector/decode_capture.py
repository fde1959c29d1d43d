#!/usr/bin/python3
"""Decodes pg_qprof capture files with nothing but Debian's python3-protobuf,
python3-zstandard and collector/capture/qprof.proto, to show that the format is
readable by others. Prints one line per file and a total, in the same terms
as `qprof dump --check`:

  FILE: samples=N kind=count ...
  total: N files, N samples
  distinct (epoch, seq): N, seq sum: N

With --waits, also prints, for each sample that has kernel facts, one JSON
line with why its execution was off the CPU (IoStats, issue 29): run queue
time, time per wait event class and per listed event (by name), the other
events and the time with no wait event reported; and for each sample with
waits found by the extension's wait sampler (SampledWaits, no BPF), one
line with "sampled": true, the interval and the ticks and time per class.

Usage: decode_capture.py [--waits] PROTO_DIR FILE|DIR...
"""
import importlib
import json
import os
import subprocess
import sys
import tempfile

import zstandard
from google.protobuf import descriptor_pool


def load_schema(proto_dir, out):
    """Compiles qprof.proto with protoc into a module under `out`."""
    subprocess.run(["protoc", "-I", proto_dir, "-I", "/usr/include",
                    "--python_out=" + out, "qprof.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("qprof_pb2")


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def frames(data):
    """Yields the decompressed content of each complete zstd frame."""
    pos = 0
    while pos < len(data):
        try:
            params = zstandard.get_frame_parameters(data[pos:pos + 18])
        except zstandard.ZstdError:
            return  # not a frame: a truncated or damaged tail
        dctx = zstandard.ZstdDecompressor()
        reader = dctx.decompressobj()
        try:
            content = reader.decompress(data[pos:])
        except zstandard.ZstdError:
            return
        if not reader.eof or len(content) != params.content_size:
            return  # the unfinished frame a crash leaves
        used = len(data) - pos - len(reader.unused_data)
        yield content
        pos += used


def check_embedded_schema(schema):
    """The header's FileDescriptorSet alone describes the records."""
    pool = descriptor_pool.DescriptorPool()
    for file_proto in schema.file:
        pool.Add(file_proto)
    record = pool.FindMessageTypeByName("qprof.capture.v1.Record")
    assert "sample_block" in record.fields_by_name, "schema lacks records"


def waits_of(pb, epoch, seq, io):
    """The off-CPU time of one sample by cause, as plain JSON values."""
    classes = {}
    for c in io.wait_classes:
        name = pb.WaitClass.Name(c.wait_class)
        classes[name] = {"ns": c.ns, "count": c.count}
    events = {e.name: {"ns": e.ns, "count": e.count,
                       "wait_event_info": e.wait_event_info}
              for e in io.wait_events}
    return {"epoch": epoch, "seq": seq,
            "offcpu_ns": io.offcpu_io_wait_ns + io.offcpu_other_ns,
            "oncpu_ns": io.oncpu_ns,
            "runqueue_ns": io.runqueue_ns,
            "runqueue_waits": io.runqueue_waits,
            "wait_classes": classes, "wait_events": events,
            "other_wait_events_ns": io.other_wait_events_ns,
            "other_wait_events_count": io.other_wait_events_count,
            "offcpu_no_wait_event_ns": io.offcpu_no_wait_event_ns,
            "offcpu_no_wait_event_count": io.offcpu_no_wait_event_count}


def sampled_waits_of(pb, epoch, seq, sampled):
    """The extension's wait sampler's ticks and time per class (no BPF)."""
    classes = {pb.WaitClass.Name(c.wait_class): {"ns": c.ns, "ticks": c.count}
               for c in sampled.classes}
    return {"epoch": epoch, "seq": seq, "sampled": True,
            "interval_us": sampled.interval_us, "wait_classes": classes}


def decode_file(pb, path, seqs, waits=None):
    kinds, samples = {}, 0
    with open(path, "rb") as f:
        data = f.read()
    for content in frames(data):
        pos = 0
        while pos < len(content):
            length, pos = read_varint(content, pos)
            record = pb.Record()
            record.ParseFromString(content[pos:pos + length])
            pos += length
            kind = record.WhichOneof("kind")
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind == "header":
                check_embedded_schema(record.header.schema)
            if kind == "sample_block":
                block = record.sample_block
                samples += len(block.samples)
                # seq is delta-encoded inside a block (see qprof.proto)
                seq = block.first_seq - 1
                for sample in block.samples:
                    seq += 1 + sample.seq_skip
                    seqs.append((block.epoch, seq))
                    if waits is not None and sample.HasField("io"):
                        waits.append(waits_of(pb, block.epoch, seq,
                                              sample.io))
                    if waits is not None and sample.HasField("sampled_waits"):
                        waits.append(sampled_waits_of(pb, block.epoch, seq,
                                                      sample.sampled_waits))
    return kinds, samples


def capture_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.startswith("qprof-") and name.endswith(".qprof"):
                    yield os.path.join(path, name)
        else:
            yield path


def main():
    args = sys.argv[1:]
    waits = [] if args[:1] == ["--waits"] else None
    if waits is not None:
        args = args[1:]
    with tempfile.TemporaryDirectory(prefix="qprof_pb_") as out:
        pb = load_schema(args[0], out)
    files = list(capture_files(args[1:]))
    total, seqs = 0, []
    for path in files:
        kinds, samples = decode_file(pb, path, seqs, waits)
        total += samples
        counts = " ".join("%s=%d" % kv for kv in sorted(kinds.items()))
        print("%s: samples=%d %s" % (path, samples, counts))
    print("total: %d files, %d samples" % (len(files), total))
    print("distinct (epoch, seq): %d, seq sum: %d"
          % (len(set(seqs)), sum(seq for _, seq in seqs)))
    for w in waits or []:
        print(json.dumps(w, sort_keys=True))


if __name__ == "__main__":
    main()
