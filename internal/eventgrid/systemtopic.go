package eventgrid

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/arm"
)

// SystemTopicTypeName is the ARM type of system topics: the events an Azure
// resource raises itself, such as a storage account's blob events.
const SystemTopicTypeName = Namespace + "/systemTopics"

// System topic types Lapis raises events for.
const (
	TopicTypeStorage       = "Microsoft.Storage.StorageAccounts"
	TopicTypeResourceGroup = "Microsoft.Resources.ResourceGroups"
	TopicTypeSubscription  = "Microsoft.Resources.Subscriptions"
)

// SystemTopicType is the Microsoft.EventGrid/systemTopics resource type.
type SystemTopicType struct{}

var _ arm.ResourceType = SystemTopicType{}

// Info implements arm.ResourceType.
func (SystemTopicType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: Namespace, Type: "systemTopics", APIVersions: APIVersions, RequiresLocation: true}
}

// Prepare implements arm.ResourceType: a system topic names its source
// resource and the source's topic type, which cannot change.
func (SystemTopicType) Prepare(ctx context.Context, req *arm.WriteRequest) error {
	name := req.ID.Name()
	if !ValidTopicName(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidSystemTopicName",
			"System topic name '%s' is not valid: a system topic name must be 3 to 50 characters long and contain only letters, digits and hyphens.", name)
	}
	p := req.New.Properties
	source, _ := p["source"].(string)
	topicType, _ := p["topicType"].(string)
	if req.Old != nil {
		oldSource, _ := req.Old.Properties["source"].(string)
		oldType, _ := req.Old.Properties["topicType"].(string)
		if source == "" {
			source = oldSource
		}
		if topicType == "" {
			topicType = oldType
		}
		if !strings.EqualFold(source, oldSource) || !strings.EqualFold(topicType, oldType) {
			return badProperty("The source and topicType of system topic '%s' cannot be changed; create a new system topic instead.", name)
		}
	}
	canonical, err := checkSystemSource(ctx, req.Store, source, topicType)
	if err != nil {
		return err
	}
	p["source"], p["topicType"] = canonical, canonicalTopicType(topicType)
	if req.Old != nil {
		p["metricResourceId"] = req.Old.Properties["metricResourceId"]
	} else {
		p["metricResourceId"] = uuid.NewString()
	}
	return nil
}

func canonicalTopicType(t string) string {
	for _, c := range []string{TopicTypeStorage, TopicTypeResourceGroup, TopicTypeSubscription} {
		if strings.EqualFold(t, c) {
			return c
		}
	}
	return t
}

// checkSystemSource checks that source is an existing resource of the
// topic type's kind and returns its id as stored.
func checkSystemSource(ctx context.Context, store *arm.Store, source, topicType string) (string, error) {
	if source == "" {
		return "", badProperty("properties.source is required: the resource id of the resource whose events the system topic carries.")
	}
	switch canonicalTopicType(topicType) {
	case TopicTypeStorage:
		id, err := arm.ParseID(source)
		if err != nil || !strings.EqualFold(id.TypeName(), "Microsoft.Storage/storageAccounts") {
			return "", badProperty("properties.source '%s' is not a storage account's resource id, as topic type %s needs.", source, TopicTypeStorage)
		}
		rec, err := store.Get(ctx, id)
		if err != nil {
			return "", err
		}
		if rec == nil {
			return "", arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The source resource '%s' was not found.", source)
		}
		return rec.ID, nil
	case TopicTypeResourceGroup:
		id, err := arm.ParseID(source)
		if err != nil || !id.IsGroup() {
			return "", badProperty("properties.source '%s' is not a resource group's id, as topic type %s needs.", source, TopicTypeResourceGroup)
		}
		g, err := store.Group(ctx, id.Subscription, id.ResourceGroup)
		if err != nil {
			return "", err
		}
		return g.ID, nil
	case TopicTypeSubscription:
		parts := strings.Split(strings.Trim(source, "/"), "/")
		if len(parts) != 2 || !strings.EqualFold(parts[0], "subscriptions") {
			return "", badProperty("properties.source '%s' is not a subscription id (/subscriptions/{id}), as topic type %s needs.", source, TopicTypeSubscription)
		}
		return "/subscriptions/" + parts[1], nil
	case "":
		return "", badProperty("properties.topicType is required: %s, %s or %s.", TopicTypeStorage, TopicTypeResourceGroup, TopicTypeSubscription)
	}
	return "", badProperty("properties.topicType '%s' is not supported by Lapis: use %s, %s or %s.", topicType, TopicTypeStorage, TopicTypeResourceGroup, TopicTypeSubscription)
}
