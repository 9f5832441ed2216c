package herald_test

// The Go client against a running Herald: HERALD_URL, HERALD_ADMIN_TOKEN, and a certificate for
// 127.0.0.1 that this Herald trusts (TLS_CA_FILE) in HERALD_RECEIVER_CERT_FILE and
// HERALD_RECEIVER_KEY_FILE, for the HTTPS receiver the test starts on loopback (the Herald must
// allow loopback URLs: ALLOW_PRIVATE_NETWORKS=true). tests/go_client_test.ts runs it so.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	herald "herald/clients/go"
)

// A POST the receiver got.
type delivery struct {
	headers http.Header
	body    []byte
}

// heraldFromEnv returns the URL and admin token of the Herald to test, skipping without one.
func heraldFromEnv(t *testing.T) (string, string) {
	url, token := os.Getenv("HERALD_URL"), os.Getenv("HERALD_ADMIN_TOKEN")
	if url == "" || token == "" {
		t.Skip("HERALD_URL and HERALD_ADMIN_TOKEN name no Herald to test against")
	}
	return url, token
}

// startReceiver starts an HTTPS receiver on 127.0.0.1 that answers 200 and hands each POST over.
func startReceiver(t *testing.T) (*httptest.Server, <-chan delivery) {
	certFile, keyFile := os.Getenv("HERALD_RECEIVER_CERT_FILE"), os.Getenv("HERALD_RECEIVER_KEY_FILE")
	if certFile == "" || keyFile == "" {
		t.Fatal("HERALD_RECEIVER_CERT_FILE and HERALD_RECEIVER_KEY_FILE must name a certificate for 127.0.0.1 that Herald trusts")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("loading the receiver's certificate: %v", err)
	}
	deliveries := make(chan delivery, 16)
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliveries <- delivery{headers: r.Header.Clone(), body: body}
		_, _ = w.Write([]byte("ok"))
	}))
	server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server.StartTLS()
	t.Cleanup(server.Close)
	return server, deliveries
}

// verifySignature checks a Standard Webhooks signature: HMAC-SHA256 of "<id>.<timestamp>.<body>"
// with the secret after its whsec_ prefix.
func verifySignature(t *testing.T, secret string, d delivery) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("the signing secret is not base64: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.headers.Get("webhook-id") + "." + d.headers.Get("webhook-timestamp") + "."))
	mac.Write(d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, signature := range strings.Fields(d.headers.Get("webhook-signature")) {
		if hmac.Equal([]byte(signature), []byte(want)) {
			return
		}
	}
	t.Fatalf("no signature %q in %q", want, d.headers.Get("webhook-signature"))
}

func must(t *testing.T, r herald.Response, err error) {
	t.Helper()
	if err := herald.Check(r, err); err != nil {
		t.Fatal(err)
	}
}

func TestOrganizationWebhookContactAndDelivery(t *testing.T) {
	url, adminToken := heraldFromEnv(t)
	receiver, deliveries := startReceiver(t)
	ctx := t.Context()

	admin, err := herald.NewClientWithResponses(url, herald.WithToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	org, err := admin.CreateOrganizationWithResponse(ctx, herald.CreateOrganizationJSONRequestBody{
		Name: "Go client", Plan: herald.CreateOrganizationJSONBodyPlanBusiness,
	})
	must(t, org, err)
	if org.StatusCode() != http.StatusCreated || !strings.HasPrefix(org.JSON201.ApiKey, "hk_") {
		t.Fatalf("creating an organization answered %d %s", org.StatusCode(), org.Body)
	}

	client, err := herald.NewClientWithResponses(url, herald.WithToken(org.JSON201.ApiKey))
	if err != nil {
		t.Fatal(err)
	}
	verifyToken := "go-verify-token"
	webhook, err := client.CreateWebhookWithResponse(ctx, herald.CreateWebhookJSONRequestBody{
		Url: receiver.URL + "/hooks", VerifyToken: &verifyToken,
	})
	must(t, webhook, err)
	if webhook.JSON201.Status != herald.CreatedWebhookStatusActive || !webhook.JSON201.HasVerifyToken {
		t.Fatalf("the new webhook: %s", webhook.Body)
	}

	var email herald.FieldValue
	if err := email.FromFieldValue0("ada@example.com"); err != nil {
		t.Fatal(err)
	}
	idempotencyKey := "go-client-" + time.Now().Format(time.RFC3339Nano)
	contact, err := client.CreateContactWithResponse(ctx,
		&herald.CreateContactParams{IdempotencyKey: &idempotencyKey},
		herald.CreateContactJSONRequestBody{Fields: map[string]herald.FieldValue{"email": email}})
	must(t, contact, err)

	// The receiver gets contact.created, signed with the webhook's secret.
	var got delivery
	select {
	case got = <-deliveries:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30 s")
	}
	verifySignature(t, webhook.JSON201.SigningSecret, got)
	var sent struct {
		ID               string `json:"_id"`
		Event            string `json:"event"`
		DeliveryAttempts int    `json:"deliveryAttempts"`
		Items            struct {
			ID          string            `json:"_id"`
			Data        map[string]string `json:"data"`
			InfoWebhook struct {
				VerifyToken string `json:"verifyToken"`
			} `json:"infoWebhook"`
		} `json:"items"`
	}
	if err := json.Unmarshal(got.body, &sent); err != nil {
		t.Fatalf("the delivered body is not JSON: %v: %s", err, got.body)
	}
	if sent.Event != "contact.created" || sent.Items.ID != contact.JSON201.Id ||
		sent.Items.Data["email"] != "ada@example.com" || sent.DeliveryAttempts != 1 ||
		sent.Items.InfoWebhook.VerifyToken != verifyToken {
		t.Fatalf("the delivered body: %s", got.body)
	}

	// The payload, as the API reads it once delivered: one attempt, answered 200.
	var payload *herald.GetPayloadResponse
	deadline := time.Now().Add(30 * time.Second)
	for {
		payload, err = client.GetPayloadWithResponse(ctx, sent.ID)
		must(t, payload, err)
		if payload.JSON200.Status == herald.PayloadStatusDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the payload is still %s after 30 s", payload.JSON200.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if payload.JSON200.Event != "contact.created" || payload.JSON200.WebhookId != webhook.JSON201.Id ||
		len(payload.JSON200.AttemptLog) != 1 || *payload.JSON200.AttemptLog[0].ResponseStatus != 200 {
		t.Fatalf("the delivered payload: %s", payload.Body)
	}
	list, err := client.ListWebhookPayloadsWithResponse(ctx, webhook.JSON201.Id, nil)
	must(t, list, err)
	if len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Id != sent.ID {
		t.Fatalf("the webhook's payloads: %s", list.Body)
	}
}

func TestARefusalIsATypedError(t *testing.T) {
	url, adminToken := heraldFromEnv(t)
	ctx := t.Context()
	admin, err := herald.NewClientWithResponses(url, herald.WithToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	org, err := admin.CreateOrganizationWithResponse(ctx, herald.CreateOrganizationJSONRequestBody{
		Name: "Go client refusals", Plan: herald.CreateOrganizationJSONBodyPlanBusiness,
	})
	must(t, org, err)
	client, err := herald.NewClientWithResponses(url, herald.WithToken(org.JSON201.ApiKey))
	if err != nil {
		t.Fatal(err)
	}

	// A plain-HTTP URL (on loopback: refused for its scheme, never contacted) is a 422.
	refused, err := client.CreateWebhookWithResponse(ctx, herald.CreateWebhookJSONRequestBody{
		Url: "http://127.0.0.1:9/hooks",
	})
	var apiErr *herald.APIError
	if !errors.As(herald.Check(refused, err), &apiErr) {
		t.Fatalf("a refused webhook gave no *APIError: %v", err)
	}
	if apiErr.StatusCode != http.StatusUnprocessableEntity || apiErr.Code != "invalid_url" ||
		len(apiErr.Details) == 0 || apiErr.Details[0].Path != "body.url" {
		t.Fatalf("the refusal: %+v", apiErr)
	}
	// The same error, typed, on the answer itself.
	if refused.JSON422 == nil || refused.JSON422.Error.Code != "invalid_url" {
		t.Fatalf("the answer's JSON422: %s", refused.Body)
	}

	missing, err := client.GetWebhookWithResponse(ctx, "wh_00000000000000000000000000")
	if !errors.As(herald.Check(missing, err), &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "not_found" {
		t.Fatalf("a missing webhook: %v", herald.Check(missing, err))
	}
}

func TestPortalLink(t *testing.T) {
	url, adminToken := heraldFromEnv(t)
	ctx := t.Context()
	admin, err := herald.NewClientWithResponses(url, herald.WithToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	org, err := admin.CreateOrganizationWithResponse(ctx, herald.CreateOrganizationJSONRequestBody{
		Name: "Go client portal", Plan: herald.CreateOrganizationJSONBodyPlanBusiness,
	})
	must(t, org, err)

	minute := 60
	link, err := admin.CreatePortalLinkWithResponse(ctx, org.JSON201.Id,
		herald.CreatePortalLinkJSONRequestBody{ExpiresIn: &minute})
	must(t, link, err)
	left := time.Until(time.UnixMilli(link.JSON201.ExpiresAt))
	if !strings.Contains(link.JSON201.Url, "/portal?token=") || left <= 0 || left > time.Minute {
		t.Fatalf("the link: %+v", link.JSON201)
	}

	// The organization's own key cannot mint one.
	client, err := herald.NewClientWithResponses(url, herald.WithToken(org.JSON201.ApiKey))
	if err != nil {
		t.Fatal(err)
	}
	refused, err := client.CreatePortalLinkWithResponse(ctx, org.JSON201.Id,
		herald.CreatePortalLinkJSONRequestBody{})
	var apiErr *herald.APIError
	if !errors.As(herald.Check(refused, err), &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an API key's portal link: %v", herald.Check(refused, err))
	}
}
