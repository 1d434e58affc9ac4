package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"spellhost/host/exitcode"
	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/tools"
)

// storeFlags choose where spellhost serve keeps its tasks.
type storeFlags struct {
	backend, dataDir, nats, listen, namespace string
	creds, tlsCA, tlsCert, tlsKey             string
	replicas                                  int
	insecure                                  bool                        // --insecure-no-auth
	lookupEnv                                 func(string) (string, bool) // the environment, for the token
}

func (sf *storeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&sf.backend, "task-backend", "jetstream", "where tasks live: jetstream (on disk under --data-dir, or in the NATS cluster of --nats; they survive a restart and spellhost worker processes share them) or memory (lost at exit)")
	fs.StringVar(&sf.dataDir, "data-dir", "", "folder of the embedded NATS server's files (default $XDG_STATE_HOME/spellhost, else ~/.local/state/spellhost); keep it outside the folders tools may read")
	fs.StringVar(&sf.nats, "nats", "", "URL of an external NATS cluster to keep tasks in instead of an embedded server (env "+natsURLEnv+")")
	fs.StringVar(&sf.listen, "nats-listen", "", "HOST:PORT on which the embedded NATS server accepts spellhost worker processes (default: none, only this process's workers)")
	fs.StringVar(&sf.namespace, "namespace", durable.DefaultNamespace, "the task namespace in NATS; servers and workers with the same one share tasks")
	fs.IntVar(&sf.replicas, "nats-replicas", 1, "copies of the task stream and buckets in a NATS cluster (3 survives the loss of one node of three)")
	fs.StringVar(&sf.creds, "nats-creds", "", "NATS credentials file for --nats (env "+natsCredsEnv+")")
	fs.StringVar(&sf.tlsCA, "nats-tls-ca", "", "PEM certificate authority of the NATS servers")
	fs.StringVar(&sf.tlsCert, "nats-tls-cert", "", "PEM client certificate for NATS (with --nats-tls-key)")
	fs.StringVar(&sf.tlsKey, "nats-tls-key", "", "the PEM private key of --nats-tls-cert")
}

// check validates the flags; workers is --task-workers (0 is allowed with
// jetstream: the server runs no tasks itself, worker processes do). The
// embedded server's port, beyond loopback, needs a token (anyone who
// reaches it could queue tool tasks) unless insecure is set.
func (sf *storeFlags) check(workers int) error {
	switch sf.backend {
	case "memory":
		if sf.dataDir != "" || sf.nats != "" || sf.listen != "" {
			return usageErr("--data-dir, --nats and --nats-listen go with --task-backend=jetstream")
		}
		if workers < 1 {
			return usageErr("--task-workers=%d: want 1 or more with --task-backend=memory", workers)
		}
	case "jetstream":
		if err := durable.CheckNamespace(sf.namespace); err != nil {
			return usageErr("--namespace: %v", err)
		}
		if workers < 0 {
			return usageErr("--task-workers=%d: want 0 (worker processes run the tasks) or more", workers)
		}
		if sf.replicas < 1 || sf.replicas > 5 {
			return usageErr("--nats-replicas=%d: want 1 to 5", sf.replicas)
		}
		if sf.nats != "" && (sf.dataDir != "" || sf.listen != "") {
			return usageErr("--nats, or --data-dir and --nats-listen (the embedded server), not both")
		}
		if sf.listen != "" && exposedAddr(sf.listen) && !sf.insecure {
			if v, ok := sf.lookupEnv(natsTokenEnv); !ok || v == "" {
				return usageErr("--nats-listen %s is not a loopback address: set %s (workers present the same token), or give --insecure-no-auth", sf.listen, natsTokenEnv)
			}
		}
	default:
		return usageErr("--task-backend=%s: want jetstream or memory", sf.backend)
	}
	return nil
}

// checkWith is check with the environment and --insecure-no-auth.
func (sf *storeFlags) checkWith(gs *globalState, insecure bool, workers int) error {
	sf.insecure, sf.lookupEnv = insecure, gs.lookupEnv
	return sf.check(workers)
}

// configure sets the kernel options' task backend for jetstream.
// The embedded server's folder must lie outside what tools may read or
// write: it holds every task's parameters and results.
func (sf *storeFlags) configure(gs *globalState, sess *session, kcfg *kernel.Options, drain time.Duration) error {
	if sf.backend != "jetstream" {
		return nil
	}
	conn := natsConnection(gs, sf.nats, sf.creds, sf.tlsCA, sf.tlsCert, sf.tlsKey)
	conn.Name = "spellhost serve"
	if conn.URL == "" {
		conn.DataDir, conn.Listen = sf.dataDir, sf.listen
		if conn.DataDir == "" {
			conn.DataDir = defaultDataDir(gs)
			if conn.DataDir == "" {
				return usageErr("--data-dir: no default (neither XDG_STATE_HOME nor HOME is set): give one")
			}
		}
		if !filepath.IsAbs(conn.DataDir) {
			wd, err := gs.getwd()
			if err != nil {
				return err
			}
			conn.DataDir = filepath.Join(wd, conn.DataDir)
		}
		_, statErr := os.Stat(conn.DataDir)
		made := os.IsNotExist(statErr)
		if err := os.MkdirAll(conn.DataDir, 0o700); err != nil {
			return usageErr("--data-dir: %v", err)
		}
		if p := sess.cfg.Perm; p != nil {
			_, rerr := p.Read(conn.DataDir)
			_, werr := p.Write(conn.DataDir)
			if rerr == nil || werr == nil {
				if made {
					os.Remove(conn.DataDir) // empty: made just now for the check
				}
				return usageErr("--data-dir %s is inside a folder tools may read or write (the current folder by default): "+
					"it holds every task's parameters and results; choose a folder outside, or narrow --allow-read", conn.DataDir)
			}
		}
	}
	local := kcfg.Tasks.Workers > 0
	ns, replicas := sf.namespace, sf.replicas
	kcfg.TaskBackend = func(k *kernel.Kernel, cfg task.Config) (task.Queue, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return durable.Start(ctx, conn, durable.Config{Config: cfg, Namespace: ns, NoLocalWorkers: !local, Replicas: replicas,
			DrainTimeout: drain, Executors: map[string]task.Executor{kernel.WorkTool: k.ToolExecutor()}})
	}
	return nil
}

// start opens the task store at once, so the tasks a previous run left
// queued or running resume without waiting for a new one.
func (sf *storeFlags) start(k *kernel.Kernel) error {
	if sf.backend != "jetstream" {
		return nil
	}
	if _, err := k.Tasks(); err != nil {
		if tools.TypeOf(err) == tools.TypeValidation {
			return usageErr("%v", err)
		}
		return exitcode.WithCodeIfNone(err, exitcode.Failure)
	}
	return nil
}

// defaultDataDir is $XDG_STATE_HOME/spellhost, else ~/.local/state/spellhost.
func defaultDataDir(gs *globalState) string {
	if v, ok := gs.lookupEnv("XDG_STATE_HOME"); ok && v != "" {
		return filepath.Join(v, "spellhost")
	}
	if v, ok := gs.lookupEnv("HOME"); ok && v != "" {
		return filepath.Join(v, ".local", "state", "spellhost")
	}
	return ""
}
