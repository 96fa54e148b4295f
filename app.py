"""CDK entry point (`npx cdk synth`, `npx cdk deploy`): settings come from CDK context, see cdk.json."""

from infra.stack import create_app

create_app().synth()
