# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench-flood`'s plot: receiving CPU ns per packet per configuration,
# one bar per source mix (median, with the min-max spread of the repetitions).
#   gnuplot -e "data='plot.dat'; out='flood.png'" plot.gp
# plot.dat: a short name (quoted), then median min max for each mix (1, 1024,
# 65536, random).
set terminal pngcairo size 1100,560 font "sans,10" background "white"
set output out
set title "SYN flood: receiving CPU time per packet (lower is better)"
set ylabel "ns per packet (NAPI thread, log scale)"
set logscale y
set yrange [50:*]
set grid ytics
set key outside right top vertical
set bmargin 7
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by 30 right noenhanced nomirror
plot data using 2:3:4:xtic(1) title "1 source" lc rgb "#4c72b0", \
     ''   using 5:6:7 title "1024 sources" lc rgb "#55a868", \
     ''   using 8:9:10 title "65536 sources" lc rgb "#c44e52", \
     ''   using 11:12:13 title "random spoofed" lc rgb "#8172b2"
