package publisher

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	intoto "github.com/in-toto/attestation/go/v1"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// inTotoPayloadType is the DSSE payload type of an in-toto statement.
const inTotoPayloadType = "application/vnd.in-toto+json"

// SignBundle signs img in the sigstore bundle format that `cosign sign --key` (v3) writes by
// default: an in-toto statement whose one subject is img's digest, carrying annotations as the
// subject's annotations, with the cosign signature predicate type; signed as a DSSE envelope into a
// v0.3 bundle that holds the key's hint and no transparency log entry; stored as an OCI 1.1
// referrer of img (artifactType application/vnd.dev.sigstore.bundle.v0.3+json). Registries
// without the referrers API get the `sha256-<hex>` referrers tag, as go-containerregistry writes it.
//
// Each call adds a referrer. opts are go-containerregistry options (auth, transport);
// remote.WithContext(ctx) is added first. img must exist in the registry.
func SignBundle(ctx context.Context, img name.Digest, signer signature.SignerVerifier, annotations map[string]string, opts ...remote.Option) error {
	if signer == nil {
		return errors.New("signing: no signer")
	}
	kp, err := newKeypair(signer)
	if err != nil {
		return fmt.Errorf("signing %s: %w", img, err)
	}
	alg, hex, ok := strings.Cut(img.DigestStr(), ":")
	if !ok {
		return fmt.Errorf("signing %s: digest %q has no algorithm", img, img.DigestStr())
	}
	subject := &intoto.ResourceDescriptor{Digest: map[string]string{alg: hex}}
	if len(annotations) > 0 {
		if subject.Annotations, err = structpb.NewStruct(toAny(annotations)); err != nil {
			return fmt.Errorf("signing %s: annotations: %w", img, err)
		}
	}
	statement, err := protojson.Marshal(&intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{subject},
		PredicateType: types.CosignSignPredicateType,
		Predicate:     &structpb.Struct{},
	})
	if err != nil {
		return fmt.Errorf("signing %s: making the in-toto statement: %w", img, err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: inTotoPayloadType}, kp, sign.BundleOptions{Context: ctx})
	if err != nil {
		return fmt.Errorf("signing %s: %w", img, err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return fmt.Errorf("signing %s: encoding the bundle: %w", img, err)
	}
	ropts := ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	if err := ociremote.WriteAttestationNewBundleFormat(img, raw, types.CosignSignPredicateType, ropts); err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound && te.Request != nil && te.Request.Method == http.MethodHead {
			return fmt.Errorf("signing %s: image not found in the registry", img)
		}
		return fmt.Errorf("signing %s: writing the bundle referrer: %w", img, err)
	}
	return nil
}

// SignBundleWithKey is SignBundle with a raw private key (*ecdsa.PrivateKey, *rsa.PrivateKey or
// ed25519.PrivateKey), signed with cosign's default algorithm for that key (see SignWithKey).
func SignBundleWithKey(ctx context.Context, img name.Digest, key crypto.PrivateKey, annotations map[string]string, opts ...remote.Option) error {
	sv, err := signerForKey(key)
	if err != nil {
		return err
	}
	return SignBundle(ctx, img, sv, annotations, opts...)
}
