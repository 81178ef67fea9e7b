package merge

import "slices"

// insertSorted inserts s into the sorted, unique slice xs (copy on write).
func insertSorted(xs []string, s string) []string {
	i, found := slices.BinarySearch(xs, s)
	if found {
		return xs
	}
	out := make([]string, 0, len(xs)+1)
	out = append(out, xs[:i]...)
	out = append(out, s)
	return append(out, xs[i:]...)
}

// removeSorted removes s from the sorted slice xs (copy on write).
func removeSorted(xs []string, s string) []string {
	i, found := slices.BinarySearch(xs, s)
	if !found {
		return xs
	}
	out := make([]string, 0, len(xs)-1)
	out = append(out, xs[:i]...)
	return append(out, xs[i+1:]...)
}

// sortedUnique returns xs sorted without duplicates or empty names. It
// returns xs itself when it already is (no allocation on the hot path).
func sortedUnique(xs []string) []string {
	ok := true
	for i, x := range xs {
		if x == "" || (i > 0 && xs[i-1] >= x) {
			ok = false
			break
		}
	}
	if ok {
		return xs
	}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// contains reports whether the sorted slice xs holds s.
func contains(xs []string, s string) bool {
	_, found := slices.BinarySearch(xs, s)
	return found
}
