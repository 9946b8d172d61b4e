package blob

import (
	"context"
	"errors"
	"fmt"
)

// DeleteAccount deletes every container of an account, with their blobs
// and staged blocks. The storage account resource type calls it when an
// account is deleted, so that a new account of the same name starts empty.
func (s *Service) DeleteAccount(ctx context.Context, account string) error {
	if s.st == nil {
		return errors.New("blob: not started")
	}
	keys, err := s.st.keys(ctx, containerKeys(account))
	if err != nil {
		return fmt.Errorf("blob: list containers of %s: %w", account, err)
	}
	var errs []error
	for _, k := range keys {
		var c containerRecord
		rev, ok, err := s.st.get(ctx, k, &c)
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		if err := s.st.del(ctx, k, rev); err != nil && !isConflict(err) {
			errs = append(errs, err)
			continue
		}
		if err := s.purgeContainer(&req{ctx: ctx, acct: account, container: c.Name}); err != nil {
			errs = append(errs, fmt.Errorf("blob: purge %s/%s: %w", account, c.Name, err))
		}
	}
	return errors.Join(errs...)
}
