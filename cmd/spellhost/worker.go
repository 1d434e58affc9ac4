package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"spellhost/host/exitcode"
	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/tools"
	"spellhost/tools/builtin"
)

const workerUsage = `Usage: spellhost worker --nats URL [flags]

Runs tasks of a kernel whose tasks live in NATS JetStream (spellhost serve
by default, or a run with options.tasks.backend = "jetstream"), on this
machine: it pulls tasks, runs tool tasks through its own kernel under its
own --allow-* flags (a task cannot widen them), heartbeats so that a task
comes back to the queue within a lease if this process dies, and reports
its identity and load to Task.stats, /metrics and the summary. Start as
many as you like, on as many machines.

The connection: --nats (or SPELLHOST_NATS_URL), credentials from --creds
(or SPELLHOST_NATS_CREDS) or a token in SPELLHOST_NATS_TOKEN, TLS with
--tls-ca, --tls-cert and --tls-key (or SPELLHOST_NATS_TLS_CA, _CERT,
_KEY; a tls:// URL turns TLS on with the system's roots).

Tasks running a Lua function (Task.submit{fn = ...}) still run in the
process that submitted them; workers run tool tasks.

SIGTERM or SIGINT drains: no new task is taken, attempts in progress get
--drain-timeout to finish, then the rest go back to the queue for another
worker. A second signal stops at once (the lease brings them back).

Exit codes: 0 drained after a signal; 1 the connection or the store
failed; 2 bad flags; 105 a second signal cut the drain short.
`

type workerFlags struct {
	nats, namespace        string
	workers                int
	creds                  string
	tlsCA, tlsCert, tlsKey string
	toolTimeout, drain     string
	faults                 []string
	seed                   uint64
	perms                  permFlags
}

func (wf *workerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&wf.nats, "nats", "", "URL of the NATS server or cluster, as nats://host:4222 (several separated by commas; env "+natsURLEnv+")")
	fs.StringVar(&wf.namespace, "namespace", durable.DefaultNamespace, "the kernel namespace whose tasks to run")
	fs.IntVar(&wf.workers, "workers", task.DefaultWorkers, "tasks run at once by this process")
	fs.StringVar(&wf.creds, "creds", "", "NATS credentials file (env "+natsCredsEnv+")")
	fs.StringVar(&wf.tlsCA, "tls-ca", "", "PEM file of the certificate authority that signed the server's certificate")
	fs.StringVar(&wf.tlsCert, "tls-cert", "", "PEM client certificate for mutual TLS (with --tls-key)")
	fs.StringVar(&wf.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringVar(&wf.toolTimeout, "tool-timeout", kernel.DefaultTimeout.String(), "timeout of a tool call whose task names none")
	fs.StringVar(&wf.drain, "drain-timeout", durable.DefaultDrainTimeout.String(), "how long attempts in progress may finish after SIGTERM or SIGINT before going back to the queue")
	fs.StringArrayVar(&wf.faults, "fault", nil, "enable a fault rule, as 'task:calculator=50%error' (repeatable; also "+faultsEnv+")")
	fs.Uint64Var(&wf.seed, "seed", 1, "seed of the fault rules' probabilities")
	wf.perms.register(fs)
}

// The connection's environment variables, read by worker, run and serve.
const (
	natsURLEnv   = "SPELLHOST_NATS_URL"
	natsCredsEnv = "SPELLHOST_NATS_CREDS"
	natsTokenEnv = "SPELLHOST_NATS_TOKEN"
	natsCAEnv    = "SPELLHOST_NATS_TLS_CA"
	natsCertEnv  = "SPELLHOST_NATS_TLS_CERT"
	natsKeyEnv   = "SPELLHOST_NATS_TLS_KEY"
)

// natsConnection is the task store's connection from the environment,
// with the flags given over it.
func natsConnection(gs *globalState, url, creds, ca, cert, key string) durable.Connection {
	env := func(name, flag string) string {
		if flag != "" {
			return flag
		}
		v, _ := gs.lookupEnv(name)
		return v
	}
	token, _ := gs.lookupEnv(natsTokenEnv)
	return durable.Connection{URL: env(natsURLEnv, url), Creds: env(natsCredsEnv, creds), Token: token,
		TLSCA: env(natsCAEnv, ca), TLSCert: env(natsCertEnv, cert), TLSKey: env(natsKeyEnv, key)}
}

func workerCmd(gs *globalState, args []string) error {
	fs := newFlags(gs, "worker", workerUsage)
	var wf workerFlags
	wf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("worker takes no arguments, got %q", fs.Arg(0))
	}
	conn := natsConnection(gs, wf.nats, wf.creds, wf.tlsCA, wf.tlsCert, wf.tlsKey)
	if conn.URL == "" {
		return usageErr("worker: --nats URL (or %s) is required: the NATS server that holds the tasks", natsURLEnv)
	}
	if err := durable.CheckNamespace(wf.namespace); err != nil {
		return usageErr("--namespace: %v", err)
	}
	if wf.workers < 1 || wf.workers > 10000 {
		return usageErr("--workers=%d: want 1 to 10000", wf.workers)
	}
	toolTimeout, err := kernel.ParseDuration(wf.toolTimeout)
	if err != nil || toolTimeout <= 0 {
		return usageErr("--tool-timeout=%s: want a positive duration such as 30s", wf.toolTimeout)
	}
	drain, err := kernel.ParseDuration(wf.drain)
	if err != nil || drain <= 0 {
		return usageErr("--drain-timeout=%s: want a positive duration such as 10s", wf.drain)
	}
	rules, err := faultRules(gs, wf.faults)
	if err != nil {
		return err
	}
	wd, err := gs.getwd()
	if err != nil {
		return err
	}
	sess, err := wf.perms.build(gs, wd)
	if err != nil {
		return err
	}
	defer sess.close()
	reg, err := builtin.NewRegistry(sess.cfg)
	if err != nil {
		return err
	}
	faults := fault.New(wf.seed)
	defer faults.Close()
	for _, a := range rules {
		sp, _ := fault.ParseAssignment(a)
		if err := faults.Enable(sp); err != nil {
			return usageErr("--fault %s: %v", a, err)
		}
	}
	k := kernel.New(reg, kernel.Options{DefaultTimeout: toolTimeout, Faults: faults})
	defer k.Close()
	log := slog.New(slog.NewTextHandler(gs.stderr, nil))

	nc, release, err := durable.Dial(conn)
	if err != nil {
		return exitcode.WithCodeIfNone(err, exitcode.Failure)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	host, _ := os.Hostname()
	w, err := durable.NewWorker(ctx, nc, durable.WorkerConfig{
		Namespace: wf.namespace, Workers: wf.workers, DrainTimeout: drain, Host: host,
		Executors: map[string]task.Executor{kernel.WorkTool: k.ToolExecutor()},
		BeforeAttempt: func(ctx context.Context, s *task.Spec, _ int) error {
			if eff := faults.Eval("task:" + s.Name); eff != nil {
				return eff.Before(ctx)
			}
			return nil
		},
	})
	cancel()
	if err != nil {
		if tools.TypeOf(err) == tools.TypeValidation {
			return usageErr("%v", err)
		}
		return exitcode.WithCodeIfNone(fmt.Errorf("worker: %w", err), exitcode.Failure)
	}
	log.Info("worker started", slog.String("id", w.ID()), slog.String("namespace", wf.namespace),
		slog.Int("workers", wf.workers), slog.Int("tools", reg.Len()), slog.Int("fault_rules", len(rules)))

	sigs := make(chan os.Signal, 2)
	gs.notify(sigs)
	defer gs.stop(sigs)
	sig := <-sigs
	log.Info("draining", slog.String("signal", sig.String()), slog.Duration("drain_timeout", drain))
	closed := make(chan struct{})
	go func() {
		w.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-sigs:
		return exitcode.WithCodeIfNone(errors.New("interrupted twice: attempts in progress come back to the queue after the lease"), exitcode.Interrupted)
	}
	info := w.Info()
	log.Info("stopped", slog.Int64("done", info.Done))
	return nil
}
