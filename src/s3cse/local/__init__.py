"""The local S3 + KMS stack (``s3cse local``) and the KMS gate that counts its calls."""
