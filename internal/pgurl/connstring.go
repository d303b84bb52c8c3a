package pgurl

// ConnString is the normalised connection string (Ardent's sslmode default
// applied), for the libraries that take a string. It holds the password:
// hand it to a driver, never to a log or an error.
func (s *Conn) ConnString() string { return s.conn }
