package durable

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

// Connection says where the store is: an external NATS cluster, or a
// server embedded in this process.
type Connection struct {
	// URL of an external cluster ("nats://host:4222", several separated by
	// commas; user and password may be in it). Empty: an embedded server.
	URL string
	// DataDir holds an embedded server's files; empty makes a temporary
	// folder that Release removes (tasks then end with the process).
	DataDir string
	// Listen is the HOST:PORT on which an embedded server also accepts
	// workers; empty accepts none.
	Listen string
	// Creds is a NATS credentials file (a JWT and its NKey seed). Token is
	// a server token. Give either, or neither.
	Creds, Token string
	// TLSCA verifies the server; TLSCert and TLSKey are the client's
	// certificate for mutual TLS. A tls:// URL or TLSCA turns TLS on.
	TLSCA, TLSCert, TLSKey string
	// Name names the connection in the server's monitoring.
	Name string
	// Dialer, when set, makes the connections to URL: a script's URL goes
	// through the run's network permissions (--allow-net).
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// dialer adapts Connection.Dialer to the client's dialer.
type dialer func(ctx context.Context, network, addr string) (net.Conn, error)

func (d dialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d(ctx, network, addr)
}

// Dial connects as c says. release closes the connection and, for an
// embedded server, shuts it down (and removes a temporary folder).
func Dial(c Connection) (nc *nats.Conn, release func(), err error) {
	if c.Creds != "" && c.Token != "" {
		return nil, nil, errors.New("task store: give a credentials file or a token, not both")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, nil, errors.New("task store: a TLS client certificate and its key go together")
	}
	name := c.Name
	if name == "" {
		name = "spellhost"
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}
	if c.Creds != "" {
		if _, err := os.Stat(c.Creds); err != nil {
			return nil, nil, fmt.Errorf("task store: credentials file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	if c.URL != "" {
		if c.Dialer != nil {
			opts = append(opts, nats.SetCustomDialer(dialer(c.Dialer)))
		}
		if c.DataDir != "" || c.Listen != "" {
			return nil, nil, errors.New("task store: a NATS URL, or an embedded server's data folder and address, not both")
		}
		nc, err := nats.Connect(c.URL, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("task store: connecting to %s: %w", redact(c.URL), err)
		}
		return nc, nc.Close, nil
	}
	dir, temp := c.DataDir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "spellhost-tasks-"); err != nil {
			return nil, nil, fmt.Errorf("task store: %w", err)
		}
		temp = true
	}
	e, err := Embed(EmbedOptions{Dir: dir, Listen: c.Listen, Token: c.Token})
	if err != nil {
		if temp {
			os.RemoveAll(dir)
		}
		return nil, nil, err
	}
	nc, err = e.Connect(opts...)
	if err != nil {
		e.Shutdown()
		if temp {
			os.RemoveAll(dir)
		}
		return nil, nil, err
	}
	return nc, func() {
		nc.Close()
		e.Shutdown()
		if temp {
			os.RemoveAll(dir)
		}
	}, nil
}

// redact hides a password in a URL for messages.
func redact(url string) string {
	b := []byte(url)
	at := -1
	for i, ch := range b {
		if ch == '@' {
			at = i
		}
	}
	if at < 0 {
		return url
	}
	start := 0
	for i := 0; i+2 < len(b); i++ {
		if b[i] == ':' && b[i+1] == '/' && b[i+2] == '/' {
			start = i + 3
			break
		}
	}
	if start > at {
		return url
	}
	return url[:start] + "***" + url[at:]
}

// Start dials c and opens a queue on it with cfg; the queue's Close
// releases the connection (and the embedded server).
func Start(ctx context.Context, c Connection, cfg Config) (*Queue, error) {
	nc, release, err := Dial(c)
	if err != nil {
		return nil, err
	}
	prev := cfg.Release
	cfg.Release = func() {
		if prev != nil {
			prev()
		}
		release()
	}
	q, err := New(ctx, nc, cfg)
	if err != nil {
		release()
		return nil, err
	}
	return q, nil
}
