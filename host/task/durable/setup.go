package durable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// store is a namespace's streams and buckets, opened.
type store struct {
	n       names
	js      jetstream.JetStream
	stream  jetstream.Stream
	tasks   jetstream.KeyValue
	meta    jetstream.KeyValue
	workers jetstream.KeyValue
}

// layout is what a kernel sets for its namespace; a worker that finds no
// stream creates it with these defaults, and a kernel's settings replace
// them.
type layout struct {
	queueCap int
	lease    time.Duration
	replicas int
	memory   bool
}

// beatTimeout bounds each store call of the heartbeat, so a store out of
// reach delays neither the leases of the other attempts nor Close.
const beatTimeout = time.Second

// workerHeartbeat is how often a worker writes its heartbeat; its record
// expires after workerTTL without one.
const (
	workerHeartbeat = 2 * time.Second
	workerTTL       = 3 * workerHeartbeat
)

// open opens the namespace's store. With update, the kernel's layout
// replaces what it finds (capacity, lease); without, a store already
// there is taken as it is.
func open(ctx context.Context, js jetstream.JetStream, n names, l layout, update bool) (*store, error) {
	s := &store{n: n, js: js}
	storage := jetstream.FileStorage
	if l.memory {
		storage = jetstream.MemoryStorage
	}
	replicas := max(1, l.replicas)
	scfg := jetstream.StreamConfig{
		Name:        n.stream,
		Description: "spellhost tasks of namespace " + n.ns + ": one message per unfinished task",
		Subjects:    []string{n.subj + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		MaxMsgs:     int64(l.queueCap),
		Discard:     jetstream.DiscardNew,
		Storage:     storage,
		Replicas:    replicas,
		// Submissions carry no message ids: a duplicate is harmless (the
		// task's record decides), and a dedupe window would hold an id
		// per task for minutes.
		Duplicates: time.Second,
	}
	var err error
	if update {
		s.stream, err = js.CreateOrUpdateStream(ctx, scfg)
	} else {
		s.stream, err = js.Stream(ctx, n.stream)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			s.stream, err = js.CreateStream(ctx, scfg)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				s.stream, err = js.Stream(ctx, n.stream)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", n.stream, err)
	}
	kv := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		cfg.Storage, cfg.Replicas = storage, replicas
		b, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
		}
		return b, nil
	}
	if s.tasks, err = kv(jetstream.KeyValueConfig{Bucket: n.tasks, History: 1,
		Description: "spellhost task records of namespace " + n.ns}); err != nil {
		return nil, err
	}
	if s.meta, err = kv(jetstream.KeyValueConfig{Bucket: n.meta, History: 1,
		Description: "spellhost task ids, rate settings and token bucket of namespace " + n.ns}); err != nil {
		return nil, err
	}
	if s.workers, err = kv(jetstream.KeyValueConfig{Bucket: n.workers, History: 1, TTL: workerTTL,
		Description: "spellhost worker heartbeats of namespace " + n.ns}); err != nil {
		return nil, err
	}
	return s, nil
}

// consumer opens the shared consumer of band b (pin "" ) or a node's
// pinned one, creating it when missing. With lease > 0 it sets AckWait;
// 0 takes the consumer as it is.
func (s *store) consumer(ctx context.Context, b, pin string, lease time.Duration) (jetstream.Consumer, error) {
	name := "workers-" + b
	if pin != "" {
		name = "pin-" + pin + "-" + b
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "spellhost workers of band " + b,
		FilterSubject: s.n.subject(b, pin),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       lease,
		MaxDeliver:    -1, // the record bounds attempts and lost workers
		MaxAckPending: -1,
		// Fetches are as large as a worker's free slots.
		MaxRequestBatch: 4096,
	}
	if pin != "" {
		// A pinned consumer goes with the process that made it.
		cfg.InactiveThreshold = time.Minute
	}
	if lease > 0 {
		c, err := s.stream.CreateOrUpdateConsumer(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", name, err)
		}
		return c, nil
	}
	c, err := s.stream.Consumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cfg.AckWait = DefaultLease
		c, err = s.stream.CreateConsumer(ctx, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			c, err = s.stream.Consumer(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return c, nil
}
