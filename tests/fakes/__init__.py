"""Local fakes of vendor APIs for tests: real SDKs talk to them over HTTP on 127.0.0.1."""
