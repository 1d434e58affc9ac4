package durable

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is a NATS server with JetStream running inside this process,
// its files under one folder, so tasks survive a restart that reopens the
// same folder. It listens on no socket unless given an address; the
// process reaches it through an in-process connection.
type Embedded struct {
	srv *server.Server
	dir string
}

// EmbedOptions configure an embedded server.
type EmbedOptions struct {
	// Dir holds JetStream's files. Required.
	Dir string
	// Listen, when set, is HOST:PORT on which the server also accepts
	// connections (workers in other processes); empty listens nowhere.
	Listen string
	// Memory keeps streams in memory instead of files (tests).
	Memory bool
	// Token, when set, is required of every client, this process's too.
	Token string
}

// Embed starts an embedded server and waits until it accepts connections.
func Embed(o EmbedOptions) (*Embedded, error) {
	if o.Dir == "" {
		return nil, errors.New("task store: embedded server: a data folder is required")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("task store: embedded server: %w", err)
	}
	opts := &server.Options{
		ServerName: "spellhost",
		JetStream:  true,
		StoreDir:   o.Dir,
		DontListen: o.Listen == "",
		NoSigs:     true,
		NoLog:      true,
		// Let the store keep its own pace; the kernel asks for no fsync
		// per message (the same default as a standalone server).
		MaxPayload: 8 << 20,
		// Authorization is the token clients present; empty asks none.
		Authorization: o.Token,
	}
	if o.Memory {
		opts.JetStreamMaxStore = 0
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("task store: embedded server: listen address %q: want HOST:PORT: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("task store: embedded server: listen address %q: bad port", o.Listen)
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("task store: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("task store: embedded server did not start within 30s")
	}
	return &Embedded{srv: srv, dir: o.Dir}, nil
}

// Connect opens an in-process connection to the server.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(e.srv), nats.Name("spellhost kernel"),
		// The store's errors reach the callers; nothing is printed.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("task store: connecting to the embedded server: %w", err)
	}
	return nc, nil
}

// URL is the address other processes connect to, or "" when the server
// listens nowhere.
func (e *Embedded) URL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Dir is the server's data folder.
func (e *Embedded) Dir() string { return e.dir }

// Shutdown stops the server and waits until its goroutines have ended.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
