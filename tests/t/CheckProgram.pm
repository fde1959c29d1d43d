# CheckProgram — a C++ check program of this repository, built with g++ and
# run: its output, one "ok WHAT" or "not ok WHAT" line a check, becomes the
# test's TAP lines, and it must run every check and exit 0.
package CheckProgram;
use strict;
use warnings;
use Exporter 'import';
use File::Temp ();
use Test::More;

our @EXPORT = qw(run_check_program);

# run_check_program(name => 'x', flags => [g++ flags], sources => [files],
#                   checks => how many lines the program prints,
#                   args => [its arguments], optional)
sub run_check_program
{
    my (%args) = @_;
    my $dir     = File::Temp::tempdir(CLEANUP => 1);
    my $program = "$dir/$args{name}";
    my $built   = system('g++', '-std=c++17', '-Wall', '-Werror',
        @{ $args{flags} // [] }, @{ $args{sources} }, '-o', $program);
    is($built, 0, 'the check program builds') or BAIL_OUT('cannot build');

    open(my $run, '-|', $program, @{ $args{args} // [] })
      or die "cannot run $program: $!";
    my @lines = <$run>;
    close $run;
    my $status = $? >> 8;
    for my $line (@lines)
    {
        chomp $line;
        my ($verdict, $what) = $line =~ /^(ok|not ok) (.*)$/
          or die "unexpected output: $line";
        ok($verdict eq 'ok', $what);
    }
    is(scalar(@lines), $args{checks}, "all $args{checks} checks ran");
    is($status, 0, 'the check program agrees');
}

1;
