import type { TransportSecurity } from "../transport/transport.js";

/** The auth property that names a TLS peer: its SANs when the certificate has any, else its common name. */
export type PeerIdentityKey = "x509_subject_alternative_name" | "x509_common_name";

/**
 * Who is calling, as the connection's security established it (reference: `ServicerContext.auth_context`,
 * `peer_identities`, `peer_identity_key`). The property names and values are those of gRPC's core library,
 * so checks written against a C-core server read the same here.
 */
export interface AuthContext {
  /** "ssl" for TLS, "local" for local credentials, "insecure" for plaintext (`transport_security_type`). */
  readonly transportSecurityType: "ssl" | "local" | "insecure";
  /**
   * The verified identities of the peer: the values of the `peerIdentityKey` property. Empty when the call
   * is not authenticated (no client certificate); the reference API returns None then.
   */
  readonly peerIdentities: readonly string[];
  /** Which property holds the identities; undefined when the call is not authenticated. */
  readonly peerIdentityKey: PeerIdentityKey | undefined;
  /**
   * Every auth property (the reference's `auth_context()`, with strings instead of bytes):
   * `transport_security_type`, `security_level`, and for TLS `ssl_session_reused`; with a verified client
   * certificate also `x509_common_name`, `x509_subject_alternative_name` (every SAN: DNS names, IP
   * addresses, URIs, emails), `x509_subject`, `x509_pem_cert`, `peer_dns`, `peer_ip`, `peer_uri`,
   * `peer_email` and, for a SPIFFE ID, `peer_spiffe_id`.
   */
  readonly properties: Readonly<Record<string, readonly string[]>>;
}

const cache = new WeakMap<TransportSecurity, AuthContext>();
let insecureContext: AuthContext | undefined;

/** The AuthContext of a connection from what the transport reports; the same object for one connection. */
export function authContextOf(security: TransportSecurity | undefined): AuthContext {
  if (security === undefined) return (insecureContext ??= build({ type: "insecure" }));
  let context = cache.get(security);
  if (context === undefined) {
    context = build(security);
    cache.set(security, context);
  }
  return context;
}

function build(security: TransportSecurity): AuthContext {
  const properties: Record<string, string[]> = {};
  const add = (name: string, value: string): void => {
    (properties[name] ??= []).push(value);
  };
  const type = security.type === "tls" ? "ssl" : security.type;
  add("transport_security_type", type);
  add("security_level", type === "insecure" ? "TSI_SECURITY_NONE" : "TSI_PRIVACY_AND_INTEGRITY");
  if (type === "ssl") add("ssl_session_reused", security.sessionReused ? "true" : "false");

  let peerIdentityKey: PeerIdentityKey | undefined;
  const cert = security.peerCertificate;
  if (cert) {
    for (const cn of cert.commonNames) add("x509_common_name", cn);
    if (cert.commonNames.length > 0) peerIdentityKey = "x509_common_name";
    const uris: string[] = [];
    for (const san of cert.subjectAltNames) {
      if (san.type === "other") continue;
      add("x509_subject_alternative_name", san.value);
      peerIdentityKey = "x509_subject_alternative_name";
      if (san.type === "DNS") add("peer_dns", san.value);
      else if (san.type === "IP") add("peer_ip", san.value);
      else if (san.type === "email") add("peer_email", san.value);
      else {
        add("peer_uri", san.value);
        uris.push(san.value);
      }
    }
    // A SPIFFE ID counts only as the certificate's one URI SAN.
    if (uris.length === 1 && uris[0]!.toLowerCase().startsWith("spiffe://")) add("peer_spiffe_id", uris[0]!);
    add("x509_subject", cert.subject);
    add("x509_pem_cert", cert.pem);
  }
  for (const values of Object.values(properties)) Object.freeze(values);
  return Object.freeze({
    transportSecurityType: type,
    peerIdentities: peerIdentityKey ? properties[peerIdentityKey]! : Object.freeze([]),
    peerIdentityKey,
    properties: Object.freeze(properties),
  });
}
