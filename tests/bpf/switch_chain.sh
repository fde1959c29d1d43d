#!/usr/bin/env bash
# Which context switches the sched_switch tracepoint does not report to BPF
# programs, on this machine, for DURATION seconds (default 10) of whatever
# runs meanwhile (bpf/README.md, "A switch-out with no switch-in after it"):
#
#   bash tests/bpf/switch_chain.sh [DURATION]
#
# Prints the switches seen, how many went unreported, and the threads whose
# switch-out was not reported, with their process and name. Run as root,
# after `make -C bpf`.
set -euo pipefail
duration=${1:-10}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="$repo/bpf/build"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
make -s -C "$repo/bpf" build/switch_chain.bpf.o build/attach_programs

fifo=$(mktemp -u /tmp/switch_chain.XXXXXX)
mkfifo "$fifo"
"$build/attach_programs" "$build/switch_chain.bpf.o" <"$fifo" >"$fifo.out" &
loader=$!
exec 3>"$fifo"
trap 'exec 3>&-; wait $loader 2>/dev/null || true; rm -f "$fifo" "$fifo.out"' EXIT
for _ in $(seq 50); do grep -q ready "$fifo.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$fifo.out" || { echo "the program did not attach" >&2; exit 1; }
sleep "$duration"
bpftool -j map dump name switch_c.bss | python3 -c '
import collections, json, sys
fields = {}
for variable in json.load(sys.stdin)[0]["formatted"]["value"][".bss"]:
    fields.update(variable)
switches, breaks, head = fields["switches"], fields["breaks"], fields["unseen_head"]
tids = fields["unseen_tid"][: min(head, len(fields["unseen_tid"]))]
print("%d switches reported; %d times the next switch on a CPU left another task "
      "than the last one went to" % (switches, breaks))
def about(tid):
    try:
        status = open("/proc/%d/status" % tid).read().split("\n")
        tgid = [l.split()[1] for l in status if l.startswith("Tgid:")][0]
        return "%s, a thread of process %s (%s)" % (
            open("/proc/%d/comm" % tid).read().strip(), tgid,
            open("/proc/%s/comm" % tgid).read().strip())
    except (OSError, IndexError):
        return "exited"
for tid, n in collections.Counter(tids).most_common(10):
    print("  thread %d, %s: its switch-out went unreported %d times" % (tid, about(tid), n))
'
