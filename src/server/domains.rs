//! Virtual-hosted-style addressing for `--domain`: `BUCKET.DOMAIN[:PORT]` names a bucket, every
//! other host (an IP, `localhost`, the domain itself) is path-style, as in MinIO. s3s's own
//! `MultiDomain` compares the Host header including its port with the domain, and takes any
//! host it does not know for a bucket name (CNAME style): `bucket.DOMAIN:9000` and
//! `localhost:9000` were refused as invalid bucket names. The HTTP front asks the same
//! question: a virtual-hosted request is an S3 request whatever its path (`/minio/health/live`
//! is then a key of the bucket, not the health endpoint).

#[derive(Clone, Debug, Default)]
pub struct Domains(Vec<String>);

impl Domains {
    pub fn new(domains: &[String]) -> Domains {
        Domains(domains.iter().map(|d| d.to_ascii_lowercase()).collect())
    }

    /// The bucket a Host header names, if it is `BUCKET.DOMAIN[:PORT]` for one of ours.
    pub fn bucket(&self, host: &str) -> Option<String> {
        self.split(host).map(|(_, bucket)| bucket)
    }

    /// Our domain and the bucket a Host header names.
    fn split(&self, host: &str) -> Option<(&str, String)> {
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().find_map(|d| {
            let bucket = name.strip_suffix(d.as_str())?.strip_suffix('.')?;
            (!bucket.is_empty()).then(|| (d.as_str(), bucket.to_string()))
        })
    }
}

/// The host without its port (an IPv6 literal's colons are not a port).
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port))
            if !h.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            h
        }
        _ => host,
    }
}

impl s3s::host::S3Host for Domains {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<s3s::host::VirtualHost<'a>> {
        Ok(match self.split(host) {
            Some((domain, bucket)) => s3s::host::VirtualHost::new(domain).with_bucket(bucket),
            None => s3s::host::VirtualHost::new(
                host_name(host).trim_end_matches('.').to_ascii_lowercase(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_subdomains_of_a_domain() {
        let d = Domains::new(&["S3.Example.com".to_string()]);
        assert_eq!(
            d.bucket("photos.s3.example.com:9000").as_deref(),
            Some("photos")
        );
        assert_eq!(
            d.bucket("photos.s3.example.com.").as_deref(),
            Some("photos")
        );
        assert_eq!(d.bucket("s3.example.com:9000"), None);
        assert_eq!(d.bucket("127.0.0.1:9000"), None);
        assert_eq!(d.bucket("[::1]:9000"), None);
        assert_eq!(Domains::default().bucket("photos.s3.example.com"), None);
    }
}
