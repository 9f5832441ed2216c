package herald_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	herald "herald/clients/go"
)

// Creating a webhook, and telling a refusal from other errors (compiled, not run: it needs a Herald).
func ExampleCheck() {
	ctx := context.Background()
	c, err := herald.NewClientWithResponses("http://127.0.0.1:8080", herald.WithToken(os.Getenv("KEY")))
	if err != nil {
		log.Fatal(err)
	}
	verifyToken := "my-verify-token"
	created, err := c.CreateWebhookWithResponse(ctx, herald.CreateWebhookJSONRequestBody{
		Url: "https://example.com/hooks", VerifyToken: &verifyToken,
	})
	var refused *herald.APIError
	if err := herald.Check(created, err); errors.As(err, &refused) && refused.StatusCode == 422 {
		log.Fatalf("%s: %v", refused.Code, refused.Details) // invalid_url: [{body.url …}]
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.JSON201.Id, created.JSON201.SigningSecret)
}
