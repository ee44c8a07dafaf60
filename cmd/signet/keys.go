package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/signet-dev/signet/pkg/publisher"
)

func newGenerateKeyPairCmd(s *streams) *cobra.Command {
	var (
		out       outputFlags
		prefix    string
		force     bool
		secret    string
		namespace string
	)
	cmd := &cobra.Command{
		Use:   "generate-key-pair",
		Short: "Make a cosign key pair: PREFIX.key (encrypted) and PREFIX.pub",
		Long: `Make a cosign-compatible key pair: an ECDSA P-256 private key encrypted with the password
in COSIGN_PASSWORD (or asked for on the terminal) in PREFIX.key, and its public key in PREFIX.pub.
With --k8s-secret it also prints a Secret manifest holding the public key under cosign's name
(cosign.pub), ready for kubectl apply and for a policy's key.secretRef. The private key never goes
into the Secret.

` + exitCodesHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			if namespace != "" && secret == "" {
				return usageError{errors.New("--namespace needs --k8s-secret")}
			}
			keyFile, pubFile := prefix+".key", prefix+".pub"
			if !force {
				for _, f := range []string{keyFile, pubFile} {
					if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
						return fmt.Errorf("%s exists; remove it or pass --force to overwrite", f)
					}
				}
			}
			pw, err := password(s, "Enter password for private key: ", true)
			if err != nil {
				return err
			}
			priv, pub, err := publisher.GenerateKeyPair(pw)
			if err != nil {
				return err
			}
			if err := os.WriteFile(keyFile, priv, 0o600); err != nil {
				return fmt.Errorf("writing private key: %w", err)
			}
			if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
				return fmt.Errorf("writing public key: %w", err)
			}
			result := map[string]any{"privateKey": keyFile, "publicKey": pubFile}
			text := fmt.Sprintf("Private key written to %s\nPublic key written to %s\n", keyFile, pubFile)
			if secret != "" {
				manifest, obj, err := publicKeySecret(secret, namespace, pub)
				if err != nil {
					return err
				}
				result["secret"] = obj
				if out.Output == "text" {
					fmt.Fprint(s.err, text)
					text = string(manifest)
				}
			}
			return out.print(s.out, text, result)
		},
	}
	out.AddFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	fs.BoolVar(&force, "force", false, "overwrite existing key files")
	fs.StringVar(&secret, "k8s-secret", "", "also print a Secret manifest of this name holding cosign.pub (stdout; the file messages go to stderr)")
	fs.StringVar(&namespace, "namespace", "", "namespace of the --k8s-secret Secret (default: none, i.e. kubectl's current namespace)")
	return cmd
}

func publicKeySecret(name, namespace string, pub []byte) ([]byte, *corev1.Secret, error) {
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"cosign.pub": pub},
	}
	b, err := yaml.Marshal(sec)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the Secret: %w", err)
	}
	return b, sec, nil
}
