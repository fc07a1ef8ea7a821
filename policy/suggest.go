package policy

import "strings"

// closest returns the candidate that word most likely misspells, or "" when
// none is close enough to be worth suggesting. Case, '-' and ' ' versus '_'
// are ignored first because "on-delete" and "Version" are the usual slips.
func closest(word string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(s))
	}
	w := norm(word)
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(w, norm(c))
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	// Allow about one edit per three characters: enough for "shemas" or
	// "lock_timout", not so much that "key" suggests "via".
	limit := max(1, min(3, len(w)/3))
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// adjacent transpositions, which are common typos) over bytes; keys are ASCII.
func editDistance(a, b string) int {
	// Three rolling rows: the transposition step looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Closest returns the name in candidates that word most likely misspells
// (case, '-' and ' ' ignored first), or "" when none is close: the
// did-you-mean of errors found against the database.
func Closest(word string, candidates []string) string { return closest(word, candidates) }
