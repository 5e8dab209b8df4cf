package bom

// Checksum returns the CRC that POSIX cksum prints for data, which is what a
// Bom records for each file (and for each symlink's target): CRC-32 with the
// polynomial 0x04C11DB7, most significant bit first, starting from zero,
// over the data followed by its length in as few little-endian bytes as it
// takes, then inverted. It is not the IEEE CRC-32 of hash/crc32, which
// reflects its bits.
func Checksum(data []byte) uint32 {
	var crc uint32
	for _, b := range data {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^b]
	}
	for n := uint64(len(data)); n != 0; n >>= 8 {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^byte(n)]
	}
	return ^crc
}

var cksumTable = func() (t [256]uint32) {
	const poly = 0x04C11DB7
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ poly
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()
