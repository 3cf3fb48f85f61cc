# A job for perl (tests/preload/run.sh): hashes, regexes, sorts, sprintf,
# string building. Deterministic: a fixed generator, sorted output.
use strict;
use warnings;
my $state = 22;
sub next_random { $state = ($state * 1103515245 + 12345) % 2147483648; return $state; }
my %count;
my @words;
for (1 .. 60000) {
    my $word = join '', map { chr(97 + next_random() % 8) } 1 .. (2 + next_random() % 7);
    push @words, $word;
    $count{$word}++;
}
my @top = (sort { $count{$b} <=> $count{$a} or $a cmp $b } keys %count)[0 .. 4];
print "distinct ", scalar(keys %count), " top @top\n";
my $text = join ' ', @words;
my @matches = ($text =~ /\b([a-c]+d\w*)/g);
print "matches ", scalar(@matches), "\n";
(my $swapped = $text) =~ s/(\w)(\w)/$2$1/g;
print "swapped length ", length($swapped), " ", substr($swapped, 0, 40), "\n";
my %by_length;
push @{ $by_length{length $_} }, $_ for @words;
printf "%d: %d words, first %s\n", $_, scalar @{ $by_length{$_} }, (sort @{ $by_length{$_} })[0] for sort { $a <=> $b } keys %by_length;
my @records = map { { id => $_, name => $words[$_], tags => [ @words[$_ .. $_ + 2] ] } } 0 .. 20000;
my $total = 0;
$total += length(join ',', @{ $_->{tags} }) for @records;
print "records ", scalar(@records), " tag bytes $total\n";
