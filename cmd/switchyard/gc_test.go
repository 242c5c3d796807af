package main

import "testing"

func TestParseBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"off", 0, true}, {"", 0, true}, {"1024", 1024, true}, {"512MiB", 512 << 20, true},
		{"1GiB", 1 << 30, true}, {"4KiB", 4096, true}, {"1GB", 0, false}, {"-1", 0, false},
		{"0", 0, false}, {"MiB", 0, false}, {"99999999999GiB", 0, false},
	} {
		got, err := parseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseDiskReserve(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"auto", 0, true}, {"", 0, true}, {"off", -1, true}, {"0", -1, true},
		{"256MiB", 256 << 20, true}, {"2GiB", 2 << 30, true}, {"lots", 0, false}, {"-5", 0, false},
	} {
		got, err := parseDiskReserve(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDiskReserve(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
