package feedserver

import "net"

// tcpConn returns the TCP connection under c, looking through TLS (a
// *tls.Conn has NetConn): the socket options apply to the socket either way.
func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	for range 4 { // a TLS conn over a TCP conn is one level; bounded anyway
		switch v := c.(type) {
		case *net.TCPConn:
			return v, true
		case *pooledConn:
			return v.TCPConn, true
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil, false
		}
	}
	return nil, false
}
