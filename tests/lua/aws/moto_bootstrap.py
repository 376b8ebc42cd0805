#!/usr/bin/env python3
"""Create an IAM user with an allow-all policy and an access key in a moto
started with INITIAL_NO_AUTH_ACTION_COUNT=3 (these are its 3 unauthenticated
requests; every later request must be signed with the key), using botocore,
the oracle. Prints one JSON line: {"key", "secret", "arn"}. Test-only."""
import json, sys

import botocore.session

endpoint = sys.argv[1]
iam = botocore.session.get_session().create_client(
    "iam", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
user = iam.create_user(UserName="lode")["User"]
iam.put_user_policy(UserName="lode", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="lode")["AccessKey"]
print(json.dumps({"key": key["AccessKeyId"], "secret": key["SecretAccessKey"], "arn": user["Arn"]}))
