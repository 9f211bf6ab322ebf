"""`supportbot simulate`: the learning loop, run end to end against a stand-in for Slack.

The real bot (``supportbot serve --http``, a child process) answers signed Slack requests sent by
simulated people, and posts through Slack's Web API to a local stand-in that keeps the channel
history as Slack would. The pieces, each usable alone:

- ``slack_standin``: the Web API stand-in (messages, updates, modals, file uploads);
- ``slack_requests``: signed requests as Slack sends them (commands, events, interactions);
- ``bot_process``: the bot as a process of its own, on a port of its own;
- ``scenario``: which intents are held out and which questions play which part;
- ``workspace``: the people (askers, trusted correctors, voters, an admin) acting through them;
- ``loop``: the phases, timed, with the report's numbers.
"""
