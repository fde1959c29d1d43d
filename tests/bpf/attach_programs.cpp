/*
 * attach_programs — loads a BPF object and attaches its tp_btf programs
 * until standard input ends (a benchmark tool: tests/bpf/bench_overhead.sh
 * attaches tests/bpf/empty_programs.bpf.c with it).
 *
 *   attach_programs OBJECT.bpf.o [TRACEPOINT ...]
 *
 * The tracepoints named are left out, and so are those this kernel does
 * not have. Prints
 * "ready" and the tracepoints attached once they all are; exits with 1 and
 * a message when loading or attaching fails.
 */
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

namespace {

const char kPrefix[] = "tp_btf/";

/* The tracepoint a program attaches to, or "" when it is not tp_btf. */
std::string tracepoint_of(const bpf_program *program) {
    const char *section = bpf_program__section_name(program);
    if (strncmp(section, kPrefix, sizeof(kPrefix) - 1) != 0)
        return "";
    return section + sizeof(kPrefix) - 1;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OBJECT.bpf.o [TRACEPOINT ...]\n", argv[0]);
        return 2;
    }
    bpf_object *object = bpf_object__open_file(argv[1], nullptr);
    if (object == nullptr) {
        fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    bpf_program *program;
    bpf_object__for_each_program(program, object) {
        std::string tracepoint = tracepoint_of(program);
        bool wanted = !tracepoint.empty() &&
                      libbpf_find_vmlinux_btf_id(tracepoint.c_str(),
                                                 BPF_TRACE_RAW_TP) >= 0;
        for (int i = 2; i < argc; i++)
            if (tracepoint == argv[i])
                wanted = false;
        if (!wanted)
            bpf_program__set_autoload(program, false);
    }
    if (bpf_object__load(object) != 0) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    std::string attached;
    bpf_object__for_each_program(program, object) {
        if (!bpf_program__autoload(program))
            continue;
        if (bpf_program__attach(program) == nullptr) {
            fprintf(stderr, "cannot attach %s: %s\n",
                    bpf_program__section_name(program), strerror(errno));
            return 1;
        }
        attached += " " + tracepoint_of(program);
    }
    printf("ready%s\n", attached.c_str());
    fflush(stdout);
    char buffer[64];
    while (read(STDIN_FILENO, buffer, sizeof(buffer)) > 0) {
    }
    bpf_object__close(object);
    return 0;
}
