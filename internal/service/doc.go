// Package service is the seam between the platform and the data-plane
// services (Blob, Queue, and later Event Grid, Service Bus, ...): the
// Service interface a service implements and the Env it is built with. It
// exists so that services do not import the platform that starts them.
package service
