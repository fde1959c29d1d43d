#!/usr/bin/perl
# valgrind_errors.pl LOG... — reads valgrind memcheck logs (one a server
# process, tests/memory/check_memory.sh) and prints how many errors of each
# kind they hold, then every error in pg_qprof's code in full. Exit 1 when
# there is one.
#
# An error is pg_qprof's when the innermost frame that is pg_qprof's or
# PostgreSQL's, in the error's stack or in the stack that created the
# uninitialised value (PostgreSQL's allocators passed over), is pg_qprof's. C library and valgrind frames are passed
# over, and so are PostgreSQL's inline functions compiled into pg_qprof (the
# installed headers). An error deep in PostgreSQL under one of pg_qprof's hooks
# is PostgreSQL's. Frames need full source paths (valgrind --fullpath-after=).
use strict;
use warnings;

my $error_head = qr/^==\d+== (?:Invalid |Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Mismatched free|Argument )/;
my $frame = qr/^==\d+==\s+(?:at|by) 0x/;

# "ours", "postgres", or "" for a frame of neither.
sub frame_owner {
    my ($line) = @_;
    return 'ours' if $line =~ m{/extension/[^/ ]+\.(?:cpp|h):\d+\)|pg_qprof\.so\)};
    return 'postgres'
      if $line =~ m{\(in /usr/lib/postgresql/|/src/(?:backend|common|port|include)/};
    return '';
}

# PostgreSQL's memory allocators: who called them made the memory.
my $allocator = qr/: (?:\?\?\?|palloc\w*|repalloc\w*|MemoryContextAlloc\w*|AllocSet\w+|GenerationAlloc|SlabAlloc|pstrdup|pnstrdup|psprintf|makeStringInfo|initStringInfo|enlargeStringInfo) \(/;

# Whose code the innermost frame of ours or PostgreSQL's is in; with
# `skip_allocators`, PostgreSQL's allocators are passed over too.
sub stack_owner {
    my ($skip_allocators, @lines) = @_;
    for my $line (@lines) {
        my $owner = frame_owner($line);
        next if $owner eq 'postgres' && $skip_allocators && $line =~ $allocator;
        return $owner if $owner;
    }
    return '';
}

# The error's own stack, and the stack that created the uninitialised value
# it is about (empty when valgrind gives none).
sub stacks_of {
    my (@lines) = @_;
    my (@main, @origin, $in);
    $in = 'main';
    for my $line (@lines) {
        if ($line =~ $frame) {
            push @main, $line if $in eq 'main';
            push @origin, $line if $in eq 'origin';
        } else {
            $in = $line =~ /Uninitialised value was created/ ? 'origin' : 'other';
        }
    }
    return (\@main, \@origin);
}

# The error blocks of a log: lines of one process up to an empty one.
sub errors_in {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my (@errors, @block);
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^==\d+==/ && $line !~ /^==\d+== $/) {
            push @block, $line;
            next;
        }
        push @errors, [@block] if @block && $block[0] =~ $error_head;
        @block = ();
    }
    push @errors, [@block] if @block && $block[0] =~ $error_head;
    return @errors;
}

my ($all, @ours, %kinds) = (0);
for my $file (@ARGV) {
    for my $error (errors_in($file)) {
        (my $kind = $error->[0]) =~ s/^==\d+== //;
        $kind =~ s/ of size \d+//;
        $kind =~ s/\(0x\w+, 0x\w+, \d+\)//;
        $kinds{$kind}++;
        $all++;
        my ($main, $origin) = stacks_of(@$error[ 1 .. $#$error ]);
        push @ours, "$file:", @$error, ''
          if stack_owner(0, @$main) eq 'ours' || stack_owner(1, @$origin) eq 'ours';
    }
}
my $ours = grep { /^\S+\.log:$/ } @ours;
print "valgrind errors: $all, in pg_qprof code: $ours\n";
print "  $kinds{$_} x $_\n" for sort { $kinds{$b} <=> $kinds{$a} || $a cmp $b } keys %kinds;
print "\n", join("\n", @ours), "\n" if $ours;
exit($ours ? 1 : 0);
