package fileset

// lockDir takes no lock on Windows.
func lockDir(string) (func(), error) { return func() {}, nil }
