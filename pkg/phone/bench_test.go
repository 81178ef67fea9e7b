package phone

import (
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// messyMix is a deterministic, realistic mix of phone fields: AU, US, GB,
// NZ and DE national formats, E.164, notes, extensions and junk.
func messyMix(n int) [][2]string {
	r := rand.New(rand.NewPCG(7, 11))
	out := make([][2]string, n)
	for i := range out {
		d := func(k int) string {
			b := make([]byte, k)
			for j := range b {
				b[j] = byte('0' + r.IntN(10))
			}
			return string(b)
		}
		switch i % 12 {
		case 0:
			out[i] = [2]string{"04" + d(2) + " " + d(3) + " " + d(3), "AU"}
		case 1:
			out[i] = [2]string{"(415) " + d(3) + "-" + d(4), "US"}
		case 2:
			out[i] = [2]string{"07" + d(3) + " " + d(6), "GB"}
		case 3:
			out[i] = [2]string{"021 " + d(3) + " " + d(4), "NZ"}
		case 4:
			out[i] = [2]string{"0151 " + d(8), "DE"}
		case 5:
			out[i] = [2]string{"+614" + d(8), ""}
		case 6:
			out[i] = [2]string{"+1 " + "415" + d(7), "US"}
		case 7:
			out[i] = [2]string{"04" + d(2) + " " + d(3) + " " + d(3) + " (mobile)", "AU"}
		case 8:
			out[i] = [2]string{"(415) " + d(3) + "-" + d(4) + " ext. " + d(2), "US"}
		case 9:
			out[i] = [2]string{"n/a", "AU"}
		case 10:
			out[i] = [2]string{"", "US"}
		default:
			out[i] = [2]string{"+44 (0) 20 " + d(4) + " " + d(4), "GB"}
		}
	}
	return out
}

func BenchmarkNormalizePhone(b *testing.B) {
	mix := messyMix(600)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m := mix[n%len(mix)]
		Normalize(m[0], m[1], "AU")
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkNyarukaDirect is the reference: the library alone on the same mix
// (Parse + IsValidNumber + Format), so the ratio shows our own cost.
func BenchmarkNyarukaDirect(b *testing.B) {
	mix := messyMix(600)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m := mix[n%len(mix)]
		region := m[1]
		if region == "" {
			region = "AU"
		}
		if num, err := phonenumbers.Parse(m[0], region); err == nil && phonenumbers.IsValidNumber(num) {
			_ = phonenumbers.Format(num, phonenumbers.E164)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func TestMessyMixIsMostlyValid(t *testing.T) {
	valid := 0
	for _, m := range messyMix(600) {
		if e, _ := Normalize(m[0], m[1], "AU"); e != "" {
			valid++
		}
	}
	if valid < 300 {
		t.Fatalf("only %d of 600 valid: the benchmark mix is not realistic", valid)
	}
}
