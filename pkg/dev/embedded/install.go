package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// DynamoDB Local comes from this npm package; only its emulator/ folder is
// kept. The tarball's sha256 is pinned: a different download fails the install.
const (
	dynamoPackage = "amplify-dynamodb-simulator@2.9.30"
	dynamoTarball = "amplify-dynamodb-simulator-2.9.30.tgz"
	dynamoSHA256  = "3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
)

// Install fetches the emulators if they are not installed yet. It needs npm
// on PATH and the npm registry; it never installs the simulator's own
// dependencies.
func Install(ctx context.Context, c Config, log io.Writer) error {
	if err := installDynamo(ctx, c, log); err != nil {
		return fmt.Errorf("installing DynamoDB Local: %w", err)
	}
	if err := installSQS(ctx, c, log); err != nil {
		return fmt.Errorf("installing the SQS emulator: %w", err)
	}
	return nil
}

func installDynamo(ctx context.Context, c Config, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(c.dynamoDir(), "DynamoDBLocal.jar")); err == nil {
		return nil
	}
	tmp := filepath.Join(c.localDir(), "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "fetching %s (DynamoDB Local) with npm pack\n", dynamoPackage)
	if err := run(ctx, tmp, log, "npm", "pack", "--silent", dynamoPackage); err != nil {
		return err
	}
	tgz := filepath.Join(tmp, dynamoTarball)
	sum, err := fileSHA256(tgz)
	if err != nil {
		return err
	}
	if sum != dynamoSHA256 {
		return fmt.Errorf("%s: sha256 %s, want %s", dynamoTarball, sum, dynamoSHA256)
	}
	extract := filepath.Join(tmp, "dynamo-extract")
	if err := os.RemoveAll(extract); err != nil {
		return err
	}
	if err := os.MkdirAll(extract, 0o755); err != nil {
		return err
	}
	if err := run(ctx, extract, log, "tar", "-xzf", tgz, "package/emulator"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.dynamoDir()), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(c.dynamoDir()); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(extract, "package", "emulator"), c.dynamoDir()); err != nil {
		return err
	}
	_ = os.RemoveAll(extract) // best effort: only temporary files remain
	return os.Remove(tgz)
}

func installSQS(ctx context.Context, c Config, log io.Writer) error {
	dir := c.sqsDir()
	lock := filepath.Join(c.Root, "localstack", "sqs", "package-lock.json")
	want, err := fileSHA256(lock)
	if err != nil {
		return err
	}
	marker := filepath.Join(dir, ".installed")
	if got, err := os.ReadFile(marker); err == nil && string(got) == want {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(c.Root, "localstack", "sqs", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(log, "installing local-aws-sqs with npm ci (pinned by localstack/sqs/package-lock.json)")
	if err := run(ctx, dir, log, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte(want), 0o644)
}

func run(ctx context.Context, dir string, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", name, args, err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
