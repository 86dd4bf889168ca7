package config

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/recallbot/recallbot/internal/didyoumean"
)

// didYouMean is "; did you mean "locale"?" for an unknown key close to a
// key of the section (a typo, a letter short), or "".
func didYouMean(key string, fields map[string]reflect.Type) string {
	most := 2
	if len([]rune(key)) <= 4 {
		most = 1
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names) // the same suggestion on every run
	best, bestDist := "", most+1
	for _, name := range names {
		if d := didyoumean.Distance(key, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}
