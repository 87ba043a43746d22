import assert from "node:assert/strict";
import { test } from "node:test";
import { authMetadataContext } from "../../src/client/pipeline/apply-call-credentials.js";
import { tlsServerName } from "../../src/client/channel-credentials.js";
import { authContextOf } from "../../src/server/auth-context.js";
import { parseSubjectAltNames } from "../../src/transport/http2/peer-security.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

/** The small pure pieces of the security code, one by one. */

failOnLeakedHandles();

test("subjectAltName text from node: plain, IPv6 shortened, and JSON-quoted values", () => {
  assert.deepEqual(parseSubjectAltNames(""), []);
  assert.deepEqual(parseSubjectAltNames("DNS:localhost, IP Address:127.0.0.1, URI:spiffe://a/b, email:x@y.z"), [
    { type: "DNS", value: "localhost" },
    { type: "IP", value: "127.0.0.1" },
    { type: "URI", value: "spiffe://a/b" },
    { type: "email", value: "x@y.z" },
  ]);
  assert.deepEqual(parseSubjectAltNames("IP Address:0:0:0:0:0:0:0:1"), [{ type: "IP", value: "::1" }]);
  assert.deepEqual(parseSubjectAltNames('DNS:"a, b", DNS:c, URI:"x:\\"y\\""'), [
    { type: "DNS", value: "a, b" },
    { type: "DNS", value: "c" },
    { type: "URI", value: 'x:"y"' },
  ]);
  assert.deepEqual(parseSubjectAltNames("othername:<unsupported>, DNS:d"), [
    { type: "other", value: "<unsupported>" },
    { type: "DNS", value: "d" },
  ]);
});

test("service URL and method name as gRPC core makes them", () => {
  assert.deepEqual(authMetadataContext({ scheme: "https", authority: "api.example.com:443" }, "/pkg.Svc/Do"), {
    serviceUrl: "https://api.example.com/pkg.Svc",
    methodName: "Do",
  });
  assert.deepEqual(authMetadataContext({ scheme: "https", authority: "localhost:8443" }, "/pkg.Svc/Do"), {
    serviceUrl: "https://localhost:8443/pkg.Svc",
    methodName: "Do",
  });
  assert.equal(authMetadataContext({ scheme: "http", authority: "localhost:443" }, "/a.B/C").serviceUrl, "http://localhost:443/a.B");
});

test("the TLS server name is the authority's host, never an IP literal", () => {
  assert.equal(tlsServerName("example.com:443"), "example.com");
  assert.equal(tlsServerName("example.com"), "example.com");
  assert.equal(tlsServerName("localhost"), "localhost");
  assert.equal(tlsServerName("127.0.0.1:50051"), undefined);
  assert.equal(tlsServerName("[::1]:50051"), undefined);
  assert.equal(tlsServerName("::1"), undefined);
});

test("auth context properties from a transport description", () => {
  const tlsAuth = authContextOf({
    type: "tls",
    sessionReused: true,
    peerCertificate: {
      subject: "CN=svc,O=acme",
      commonNames: ["svc"],
      subjectAltNames: [
        { type: "URI", value: "spiffe://acme/svc" },
        { type: "URI", value: "https://acme/other" },
        { type: "IP", value: "10.0.0.1" },
      ],
      pem: "PEM",
    },
  });
  assert.equal(tlsAuth.transportSecurityType, "ssl");
  assert.equal(tlsAuth.peerIdentityKey, "x509_subject_alternative_name");
  assert.deepEqual(tlsAuth.peerIdentities, ["spiffe://acme/svc", "https://acme/other", "10.0.0.1"]);
  assert.deepEqual(tlsAuth.properties["ssl_session_reused"], ["true"]);
  assert.deepEqual(tlsAuth.properties["peer_ip"], ["10.0.0.1"]);
  // Two URI SANs: no SPIFFE ID (it must be the only one).
  assert.equal(tlsAuth.properties["peer_spiffe_id"], undefined);
  assert.deepEqual(authContextOf(undefined).properties["transport_security_type"], ["insecure"]);
  assert.equal(authContextOf(undefined), authContextOf(undefined));
  assert.deepEqual(authContextOf({ type: "local" }).properties, {
    transport_security_type: ["local"],
    security_level: ["TSI_PRIVACY_AND_INTEGRITY"],
  });
});
