package main

import (
	"net"
)

// maxIdentifierBytes is PostgreSQL's NAMEDATALEN-1: a longer name is
// silently truncated, so the role created would not be the role Ardent
// connects as.
const maxIdentifierBytes = 63

// checkRoleName refuses a role name PostgreSQL would not keep as given.
// An empty name is allowed where it means "the URL's user".
func checkRoleName(role string, emptyOK bool) error {
	switch {
	case role == "" && !emptyOK:
		return usageErr("--role: empty name")
	case len(role) > maxIdentifierBytes:
		return usageErr("--role: %d bytes long; PostgreSQL keeps at most %d bytes of a name (it would truncate it)", len(role), maxIdentifierBytes)
	}
	return nil
}

// checkEgressIP refuses an egress IP that is not an address: it lands in
// pg_hba lines.
func checkEgressIP(ip string) error {
	if ip != "" && net.ParseIP(ip) == nil {
		return usageErr("egress IP %q is not an IP address (--egress-ip or ARDENT_EGRESS_IP)", ip)
	}
	return nil
}
