#!/usr/bin/perl
# Pools the rounds of several runs of bench_overhead.sh (their outputs,
# PARTS=tps) and prints, per workload and configuration, the median of all
# the rounds' paired changes against plain with a 90% bootstrap interval,
# computed as bench_overhead.sh computes one run's:
#
#   perl tests/bpf/pool_rounds.pl run1.out run2.out ...
use strict;
use warnings;

my %changes;    # workload => configuration => [paired changes, %]
for my $file (@ARGV) {
    open my $fh, '<', $file or die "$file: $!\n";
    my ($workload, %runs);
    while (<$fh>) {
        if (/^(\S+):$/) { $workload = $1; next }
        $runs{$workload}{$1} = [ split ' ', $2 ]
          if defined $workload && /^\s+(\S+)\s+median .*runs: (.*)$/;
    }
    for my $w (keys %runs) {
        my $plain = $runs{$w}{plain} or die "$file: no plain runs for $w\n";
        for my $config (grep { $_ ne 'plain' } keys %{ $runs{$w} }) {
            my $values = $runs{$w}{$config};
            push @{ $changes{$w}{$config} },
              map { ($values->[$_] - $plain->[$_]) / $plain->[$_] * 100 }
              0 .. $#$plain;
        }
    }
}

sub median {
    my @s = sort { $a <=> $b } @_;
    my $n = @s;
    return $n % 2 ? $s[($n - 1) / 2] : ($s[$n / 2 - 1] + $s[$n / 2]) / 2;
}

srand(1);
for my $w (sort keys %changes) {
    for my $config (sort keys %{ $changes{$w} }) {
        my @c = @{ $changes{$w}{$config} };
        my @m = sort { $a <=> $b }
          map { median(map { $c[int rand @c] } @c) } 1 .. 2000;
        printf "%-12s %-20s %3d rounds  paired %+.1f%%  (90%% interval %+.1f%% to %+.1f%%)\n",
          $w, $config, scalar @c, median(@c), $m[100], $m[1899];
    }
}
