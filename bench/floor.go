package bench

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/tessera-id/tessera/internal/password"
)

// Floor is the signing floor: how many JWS signatures of one algorithm
// this machine makes per second on all its cores. A token endpoint cannot
// answer faster than this divided by the signatures each response needs.
type Floor struct {
	Alg           string  `json:"alg"`
	Cores         int     `json:"cores"`
	SignaturesSec float64 `json:"signatures_per_second"`
	// Samples are the measurements interleaved with the load; the floor
	// is their mean, Min and Max show how much the machine varied.
	Samples int     `json:"samples,omitempty"`
	Min     float64 `json:"min,omitempty"`
	Max     float64 `json:"max,omitempty"`
}

// summarizeFloor is the mean of samples, with their spread.
func summarizeFloor(alg string, samples []float64) *Floor {
	f := &Floor{Alg: alg, Cores: runtime.GOMAXPROCS(0), Samples: len(samples), Min: samples[0], Max: samples[0]}
	var sum float64
	for _, s := range samples {
		sum += s
		f.Min = min(f.Min, s)
		f.Max = max(f.Max, s)
	}
	f.SignaturesSec = sum / float64(len(samples))
	return f
}

// floorMeter samples the signing floor of one algorithm: a token-sized
// signing input signed on every core with one fresh key, made once per run: an RSA key takes longer to generate than a sample takes to
// measure, and a run takes many short samples.
type floorMeter struct {
	sign func() error
}

// Argon2id names the password-hash floor of the login scenario: hashes of
// the server's default cost per second on all cores.
const Argon2id = "argon2id"

func newFloorMeter(alg string) (*floorMeter, error) {
	if alg == Argon2id {
		salt := make([]byte, 16)
		_, _ = rand.Read(salt)
		p := password.Default()
		return &floorMeter{sign: func() error {
			_ = argon2.IDKey([]byte("a password of a usual length"), salt, p.Time, p.Memory, p.Threads, 32)
			return nil
		}}, nil
	}
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("bench: unknown algorithm %q", alg)
	}
	if err != nil {
		return nil, err
	}
	// About the size of a Tessera access token's claims, with its header.
	input := []byte(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"`+alg+`","kid":"a1b2c3d4e5f6a7b8","typ":"at+jwt"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://localhost:8443/demo/v2.0","sub":"4b1c2a0e-8f3d-4c6b-9a57-2d1e0f3b6c7a","aud":"9be69e70-478d-4067-870e-32436ba71e9a",`+
			`"exp":1795308705,"iat":1795305105,"nbf":1795305105,"jti":"3df4720f-4ddb-4026-b593-ce39e399fcd5","client_id":"9be69e70-478d-4067-870e-32436ba71e9a",`+
			`"azp":"9be69e70-478d-4067-870e-32436ba71e9a","tid":"7e652e32-306a-4f7a-aa21-a71445aa8779","oid":"4b1c2a0e-8f3d-4c6b-9a57-2d1e0f3b6c7a","scope":"access_as_user","scp":"access_as_user","ver":"2.0"}`)))
	// The floor is the signature alone: hash the signing input, sign,
	// encode, as any JWS library must; no header or claims marshalling.
	sign := func() error {
		var sig []byte
		var err error
		switch k := key.(type) {
		case ed25519.PrivateKey:
			sig = ed25519.Sign(k, input)
		default:
			d := sha256.Sum256(input)
			sig, err = k.Sign(rand.Reader, d[:], crypto.SHA256)
		}
		_ = base64.RawURLEncoding.EncodeToString(sig)
		return err
	}
	return &floorMeter{sign: sign}, nil
}

// sample signs on every core for d and returns signatures per second.
func (m *floorMeter) sample(d time.Duration) (float64, error) {
	cores := runtime.GOMAXPROCS(0)
	var count atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < cores; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := m.sign(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(count.Load()) / time.Since(start).Seconds(), nil
}

// floorSampler measures the floor in samples: in this process
// (floorMeter) or in a worker process of its own (floorProcess).
type floorSampler interface {
	sample(d time.Duration) (float64, error)
	close()
}

func (m *floorMeter) close() {}

// openFloor starts sampling alg's floor: in a process started with
// command (see FloorWorker), or in this one when command is empty.
func openFloor(ctx context.Context, command []string, alg string) (floorSampler, error) {
	if len(command) == 0 {
		return newFloorMeter(alg)
	}
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start the floor worker: %w", err)
	}
	return &floorProcess{cmd: cmd, in: in, out: bufio.NewReader(out), alg: alg}, nil
}

// floorProcess is a FloorWorker process, asked for one sample at a time.
type floorProcess struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	alg string
}

func (f *floorProcess) sample(d time.Duration) (float64, error) {
	if _, err := fmt.Fprintf(f.in, "%s %s\n", f.alg, d); err != nil {
		return 0, fmt.Errorf("bench: floor worker: %w", err)
	}
	line, err := f.out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("bench: floor worker: %w", err)
	}
	line = strings.TrimSpace(line)
	if msg, failed := strings.CutPrefix(line, "error "); failed {
		return 0, fmt.Errorf("bench: floor worker: %s", msg)
	}
	rate, err := strconv.ParseFloat(line, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: floor worker answered %q", line)
	}
	return rate, nil
}

func (f *floorProcess) close() {
	_ = f.in.Close()
	_ = f.cmd.Wait()
}

// FloorWorker answers floor samples for a generator (Config.FloorCommand)
// until in ends: each line "ALG DURATION" asks for one sample of that
// algorithm (or Argon2id) on every core, answered by a line with its
// operations per second, or "error …". Its heap holds nothing but the
// samples' own garbage, as a server's password checks and signatures run
// beside a small live heap.
func FloorWorker(in io.Reader, out io.Writer) error {
	// One answer a line: an error's own line breaks would start another.
	oneLine := strings.NewReplacer("\n", " ", "\r", " ")
	meters := map[string]*floorMeter{}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		alg, dur, _ := strings.Cut(lines.Text(), " ")
		d, err := time.ParseDuration(dur)
		if err != nil || d <= 0 {
			fmt.Fprintf(out, "error bad sample length %q\n", dur)
			continue
		}
		m, ok := meters[alg]
		if !ok {
			if m, err = newFloorMeter(alg); err != nil {
				fmt.Fprintf(out, "error %s\n", oneLine.Replace(err.Error()))
				continue
			}
			meters[alg] = m
		}
		rate, err := m.sample(d)
		if err != nil {
			fmt.Fprintf(out, "error %s\n", oneLine.Replace(err.Error()))
			continue
		}
		fmt.Fprintf(out, "%g\n", rate)
	}
	return lines.Err()
}
