package chaos_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/contactsync/contactsync/pkg/awsenv"
	"github.com/contactsync/contactsync/pkg/awsenv/sharedconfig"
	"github.com/contactsync/contactsync/pkg/bulksync"
	"github.com/contactsync/contactsync/pkg/connectors"
	"github.com/contactsync/contactsync/pkg/dev/sandbox"
	"github.com/contactsync/contactsync/pkg/dev/stacktest"
	"github.com/contactsync/contactsync/pkg/queue"
	"github.com/contactsync/contactsync/pkg/resources"
	"github.com/contactsync/contactsync/pkg/seal"
	"github.com/contactsync/contactsync/pkg/store"
	"github.com/contactsync/contactsync/pkg/syncrun"
	"github.com/contactsync/contactsync/pkg/woocommerce/woocommercetest"
)

// childEnv names the settings of a bulk-sync worker process (this test
// binary re-executed: see TestMain).
const (
	childEnv      = "CONTACTSYNC_CHAOS_WORKER"
	childTable    = "CONTACTSYNC_CHAOS_TABLE"
	childPagesURL = "CONTACTSYNC_CHAOS_PAGES_URL"
	childDLQURL   = "CONTACTSYNC_CHAOS_DLQ_URL"
	childSealKey  = "CONTACTSYNC_CHAOS_SEAL_KEY"
)

// TestMain turns this test binary into a bulk-sync worker when childEnv is
// set: the real handler behind a poller on the given queue and table, as a
// Lambda would run it, until the process is killed.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(worker())
	}
	os.Exit(m.Run())
}

func worker() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	cfg, err := sharedconfig.Load(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	key, err := hex.DecodeString(os.Getenv(childSealKey))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	sealer, err := seal.New(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	db, sq := awsenv.NewDynamoDB(cfg), awsenv.NewSQS(cfg)
	pages := queue.NewSender(sq, os.Getenv(childPagesURL))
	h := bulksync.New(bulksync.Deps{Store: store.New(db, os.Getenv(childTable)), Sources: &connectors.Registry{Opener: sealer, HTTP: http.DefaultClient, AllowPrivateHosts: true},
		Pages: pages, DeadLetter: queue.NewSender(sq, os.Getenv(childDLQURL))})
	(&sandbox.Poller{SQS: sq, QueueURL: os.Getenv(childPagesURL), Handler: h.Handle, Concurrency: 4, BatchSize: 2, RetryDelay: time.Second}).Run(ctx)
	return 0
}

// startWorker starts a worker process on s's table and pages queue.
func startWorker(t *testing.T, s *stacktest.Stack, key []byte) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childTable+"="+s.Table, childPagesURL+"="+s.PagesQueueURL,
		childDLQURL+"="+s.PagesDLQURL, childSealKey+"="+hex.EncodeToString(key))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// countContacts counts a tenant's contacts with COUNT queries on the
// contacts index's 16 shards (pkg/store/doc.go: T#t#CONTACTS#<0..15>).
func countContacts(t *testing.T, db *dynamodb.Client, table, tenant string) int {
	t.Helper()
	n := 0
	for k := range 16 {
		var start map[string]types.AttributeValue
		for {
			out, err := db.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String(resources.GSI1),
				KeyConditionExpression:    aws.String("#pk = :pk"),
				ExpressionAttributeNames:  map[string]string{"#pk": resources.AttrGSI1PK},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("T#%s#CONTACTS#%d", tenant, k)}},
				Select:                    types.SelectCount, ExclusiveStartKey: start})
			if err != nil {
				t.Fatal(err)
			}
			n += int(out.Count)
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
	}
	return n
}

// TestFaults_WorkerProcessKilledMidPage runs an install sync in a separate
// worker process and SIGKILLs it at a moment when a page is applied in part
// or in whole but not yet recorded (more contacts exist than the run has
// counted). A fresh worker picks the page up again once its visibility
// timeout lapses. The run completes with every record counted once, and
// the tenant has exactly as many contacts as the run created: none lost,
// none twice.
func TestFaults_WorkerProcessKilledMidPage(t *testing.T) {
	const customers = 1500
	shop := woocommercetest.NewServer(woocommercetest.Options{Customers: customers, Seed: 31})
	defer shop.Close()
	s := stacktest.New(t, stacktest.WithVisibilityTimeout(3*time.Second))
	ctx := context.Background()
	key := []byte(strings.Repeat("w", 32))
	sealer, _ := seal.New(key)
	st := store.New(s.DynamoDB, s.Table)
	tenant, _, err := st.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	ck, cs := shop.Credentials()
	conn := wooConnection(t, st, sealer, tenant.ID, shop.URL(), ck, cs)

	first := startWorker(t, s, key)
	run, err := syncrun.Starter{Store: st, Pages: queue.NewSender(s.SQS, s.PagesQueueURL), LockFor: time.Hour}.
		Start(ctx, tenant.ID, conn.ID, store.TriggerInstall, false, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var atKill store.Run
	var contactsAtKill int
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never caught the worker in the middle of a page")
		}
		r, err := st.GetRun(ctx, tenant.ID, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != store.RunRunning {
			t.Fatalf("the run ended (%s) before the worker could be killed mid-page", r.Status)
		}
		if n := countContacts(t, s.DynamoDB, s.Table, tenant.ID); r.PagesDone >= 1 && n > r.Counts.Created {
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			atKill, contactsAtKill = r, n
			break
		}
	}
	t.Logf("killed with %d/%d pages recorded, %d contacts written, %d counted", atKill.PagesDone, atKill.PagesTotal, contactsAtKill, atKill.Counts.Created)

	startWorker(t, s, key)
	final := waitRun(t, st, tenant.ID, run.ID, 2*time.Minute)
	if final.Status != store.RunCompleted || !final.Counts.AddsUp() || final.Counts.Seen != customers {
		t.Fatalf("run after the kill = %s %+v (%s); want completed with %d records", final.Status, final.Counts, final.Error, customers)
	}
	if n := countContacts(t, s.DynamoDB, s.Table, tenant.ID); n != final.Counts.Created {
		t.Fatalf("%d contacts for %d created: a killed page lost or duplicated contacts", n, final.Counts.Created)
	}
	if len(contactSet(t, st, tenant.ID)) != final.Counts.Created {
		t.Fatal("the contact list disagrees with the index count")
	}
}
