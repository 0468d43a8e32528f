module sextant.dev/pause

go 1.22
