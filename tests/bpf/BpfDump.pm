# BpfDump — drives bpf/build/qprof_bpf_dump (the BPF loader of the collector,
# collector/kernel/bpf_attach.cpp) from a Perl test, one JSON answer per command.
#
#   my $bpf = BpfDump->attach($postmaster_pid, $word_address);
#   # $bpf->{unavailable} holds the reason when BPF cannot be loaded
#   my $io = $bpf->take([ [ $pid, $exec_id ], ... ]);  # { "pid:exec" => {...} }
#   $bpf->detach;
#
package BpfDump;

use strict;
use warnings;
use Carp;
use File::Basename qw(dirname);
use IPC::Run ();
use JSON::PP ();

my $TOOL = $ENV{QPROF_BPF_DUMP}
  // dirname(__FILE__) . '/../../bpf/build/qprof_bpf_dump';

sub tool { $TOOL }

# Starts the tool (as the current user, or as `user` through runuser; from
# `tool` when given; under the command `wrap` when given) and waits until it
# has attached or said why it cannot.
sub attach {
    my ($class, $postmaster_pid, $word_address, %opts) = @_;
    my $tool = $opts{tool} // $TOOL;
    croak "$tool is not built (make -C bpf)" unless -x $tool;
    my @cmd = ($tool, $postmaster_pid, $word_address);
    push @cmd, $opts{max_entries} // 32768;
    # syscalls: no-syscalls or raw-syscalls (default: per-call trace events)
    push @cmd, $opts{syscalls} if $opts{syscalls};
    # word_slots: where to pin (or reuse) the word slot map
    push @cmd, "--word-slots=$opts{word_slots}" if $opts{word_slots};
    unshift @cmd, 'runuser', '-u', $opts{user}, '--' if $opts{user};
    # wrap: a command the tool runs under, e.g. [ 'unshare', '-m', ... ]
    unshift @cmd, @{ $opts{wrap} } if $opts{wrap};
    my $self = bless { in => '', out => '', err => '' }, $class;
    $self->{run} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>',
        \$self->{out}, '2>', \$self->{err},
        IPC::Run::timeout(60));
    my $hello = $self->_answer;
    if (exists $hello->{unavailable}) {
        $self->{unavailable} = $hello->{unavailable};
        $self->{run}->finish;
        $self->{exit_code} = $self->{run}->result;
        delete $self->{run};
    }
    $self->{attachments} = $hello->{attachments} // [];
    $self->{word_slots}  = $hello->{word_slots} // '';
    return $self;
}

sub _answer {
    my ($self) = @_;
    $self->{run}->pump until $self->{out} =~ /\n/;
    $self->{out} =~ s/^([^\n]*)\n//;
    my $line = $1;
    return JSON::PP::decode_json($line);
}

sub command {
    my ($self, $command) = @_;
    croak 'not attached' unless $self->{run};
    $self->{in} .= "$command\n";
    my $answer = $self->_answer;
    croak "qprof_bpf_dump: $answer->{error}" if exists $answer->{error};
    return $answer;
}

sub _by_key {
    my ($answer) = @_;
    return { map { ("$_->{pid}:$_->{exec_id}" => $_) } @{ $answer->{entries} } };
}

# Every entry, left in the map: { "pid:exec_id" => entry }.
sub peek { _by_key($_[0]->command('peek')) }

# Removes and returns the entries of these [pid, exec_id] pairs.
sub take {
    my ($self, $keys) = @_;
    return _by_key(
        $self->command(join ' ', 'take', map { "$_->[0]:$_->[1]" } @$keys));
}

sub drop_unclaimed { $_[0]->command("drop $_[1]")->{dropped} }
sub stats          { $_[0]->command('stats') }

# Detaches the programs (the tool exits at end of input).
sub detach {
    my ($self) = @_;
    return unless $self->{run};
    $self->{run}->finish;
    delete $self->{run};
}

sub DESTROY { $_[0]->detach }

1;
