package transport

import (
	"testing"
	"time"
)

// Ratio times the calls, rounded down, is the decimal product: a Ratio of
// 0.7 over 90 calls allows 63 retries, though 0.7*90 is
// 62.99999999999999 in float64 (0.29*100, 0.57*100, 0.35*180 the same).
func TestBudgetRatioProductRoundsDownTheDecimal(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		calls int
		want  int
	}{
		{0.7, 90, 63},
		{0.29, 100, 29},
		{0.57, 100, 57},
		{0.35, 180, 63},
		{0.58, 50, 29},
	} {
		b := newBudget(BudgetConfig{Ratio: tc.ratio, MinRetries: -1, Window: 10 * time.Second})
		now := int64(time.Second)
		for range tc.calls {
			b.call(now)
		}
		got := 0
		for range tc.want + 5 {
			if b.tryRetry(now) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("ratio %v, %d calls: %d retries granted, want %d", tc.ratio, tc.calls, got, tc.want)
		}
	}
}
