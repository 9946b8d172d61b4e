package queue

import (
	"context"
	"errors"
	"fmt"
)

// DeleteAccount deletes every queue of an account with its messages. The
// storage account resource type calls it when an account is deleted, so
// that a new account of the same name starts empty.
func (s *Service) DeleteAccount(ctx context.Context, account string) error {
	var errs []error
	marker := ""
	for {
		queues, next := s.ListQueues(account, "", marker, 5000)
		for _, q := range queues {
			if err := s.DeleteQueue(ctx, account, q.Name); err != nil && !errors.Is(err, ErrQueueNotFound) {
				errs = append(errs, fmt.Errorf("queue: delete %s/%s: %w", account, q.Name, err))
			}
		}
		if next == "" {
			return errors.Join(errs...)
		}
		marker = next
	}
}
