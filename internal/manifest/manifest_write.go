package manifest

// WriteFile replaces file with data atomically, keeping its mode.
func WriteFile(file string, data []byte) error { return writeSameMode(file, data) }
