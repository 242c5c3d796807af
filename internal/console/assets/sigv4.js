// AWS Signature Version 4 for the console's requests, with Web Crypto.
// The canonical request is built as the AWS General Reference's "Create a
// signed AWS API request" describes (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
// method, URI, sorted query, signed headers, payload hash; then the string
// to sign over the credential scope date/region/service/aws4_request, and
// the signature with the key derived from "AWS4"+secret by HMAC-SHA256.

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256hex(data) {
  return hex(await crypto.subtle.digest("SHA-256", typeof data === "string" ? enc.encode(data) : data));
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

// uriEncode is SigV4's encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX
// (upper case), which encodeURIComponent is but for ! ' ( ) *.
export function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

// canonicalQuery sorts the parameters by encoded name, then value.
export function canonicalQuery(params) {
  return params.map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + "=" + v).join("&");
}

export function amzDate(d) {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

// sign adds X-Amz-Date, X-Amz-Security-Token (if any) and Authorization
// to headers (an object, modified) for a request of method to path with
// the query params ([name, value] pairs) and body (a string).
//   creds: {accessKeyId, secretAccessKey, sessionToken?}
export async function sign({ method, host, path, params = [], headers, body = "", region, service = "events", creds, now = new Date() }) {
  const date = amzDate(now);
  headers["X-Amz-Date"] = date;
  if (creds.sessionToken) headers["X-Amz-Security-Token"] = creds.sessionToken;
  const all = { host, ...headers };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = {};
  for (const [n, v] of Object.entries(all)) lower[n.toLowerCase()] = String(v).trim().replace(/\s+/g, " ");
  const signedHeaders = names.join(";");
  const canonical = [
    method,
    path.split("/").map((seg) => uriEncode(uriEncode(decodeURIComponent(seg)))).join("/"),
    canonicalQuery(params),
    names.map((n) => n + ":" + lower[n] + "\n").join(""),
    signedHeaders,
    await sha256hex(body),
  ].join("\n");
  const day = date.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, await sha256hex(canonical)].join("\n");
  let key = await hmac("AWS4" + creds.secretAccessKey, day);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, toSign));
  headers["Authorization"] = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { canonical, toSign };
}
