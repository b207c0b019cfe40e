# The PNG plots of bench/results, drawn from the .dat files the benchmark scripts write.
# Usage: gnuplot -e "dir='bench/results'" bench/plots.gp
if (!exists("dir")) dir = 'bench/results'
set terminal pngcairo size 800,520 font ",11" noenhanced
set grid
set key top left

set output dir.'/speedup.png'
set title 'batchfetch speedup over --max-concurrency 1 (150 days, time-scaled quota)'
set xlabel 'workers (--max-concurrency)'
set ylabel 'speedup (median of runs; bars min..max)'
set logscale x 2
set xrange [0.8:40]
set yrange [0:12]
set key bottom right
plot dir.'/speedup.dat' using 1:5 with linespoints lw 3 dt 2 pt 6 ps 1.5 lc rgb '#cc3311' title 'ceiling min(N, budget x mean latency / window)', \
     '' using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb '#0077bb' title 'measured speedup (median; bars min..max)', \
     x with lines lc rgb 'gray' dt 3 title 'linear'
unset logscale x
unset xrange

set output dir.'/memory.png'
set title 'batchfetch peak RSS vs range length (25,000-row pages)'
set key top left
set xlabel 'days in the range'
set ylabel 'peak RSS, MiB (median; bars min..max)'
set xrange [0:1600]
set yrange [0:*]
plot dir.'/memory_vs_range.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'peak RSS'
unset xrange

set output dir.'/fetch_overhead.png'
set title 'pages per second, zero latency, small pages (median; bars min..max)'
set xlabel ''
set ylabel 'pages per second'
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set key off
plot dir.'/fetch_overhead.dat' using 0:2:xtic(1) with boxes lc rgb '#4477aa', \
     '' using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0
