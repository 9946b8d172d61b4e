package queue

import (
	"net/http"
	"slices"
	"strings"

	"github.com/lapisdev/lapis/internal/storage/wire"
)

// ValidateName applies Azure's queue name rules: 3 to 63 characters,
// lower-case letters, digits and single hyphens, starting and ending with a
// letter or digit. A name of the wrong length is 400 OutOfRangeInput, any
// other bad name 400 InvalidResourceName, as Azure answers.
func ValidateName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return wire.Errorf(http.StatusBadRequest, "OutOfRangeInput",
			"The specified resource name length is not within the permissible limits: a queue name has 3 to 63 characters.")
	}
	ok := alnum(name[0]) && alnum(name[len(name)-1]) && !strings.Contains(name, "--")
	for i := 0; ok && i < len(name); i++ {
		ok = alnum(name[i]) || name[i] == '-'
	}
	if !ok {
		return wire.Errorf(http.StatusBadRequest, "InvalidResourceName",
			"The specified resource name contains invalid characters: a queue name has lower-case letters, digits and single hyphens, and starts and ends with a letter or digit.")
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func sortQueues(qs []queueState) {
	slices.SortFunc(qs, func(a, b queueState) int { return strings.Compare(a.rec.Name, b.rec.Name) })
}
