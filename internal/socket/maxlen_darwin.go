package socket

// sun_path is 104 bytes on macOS, including the terminating NUL.
func maxPathLen() int { return 103 }
