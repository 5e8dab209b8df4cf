package socket

// sun_path is 108 bytes on Linux, including the terminating NUL.
func maxPathLen() int { return 107 }
