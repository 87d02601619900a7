"""Every tool's help, as the Windows tool prints it.

``help_for(tool, args)`` returns the text a help request (``-?``, ``/?``, ``--help``, and
netsh's ``help`` / ``?``) prints, or None when ``args`` ask for no help. Help goes to
stdout with exit status 0, as on Windows. The texts follow each tool's own layout and are
rephrased from Microsoft's documentation of the tool (named beside each text); only the
verbs, parameters and options winpki implements are listed.
"""

from __future__ import annotations

__all__ = ["HELP_WORDS", "help_for", "is_help_request"]

# What every tool accepts as "show me the help".
HELP_WORDS = frozenset({"-?", "/?", "--help", "-help", "/help", "-h", "/h"})


def is_help_request(args: list[str]) -> bool:
    return any(a.lower() in HELP_WORDS for a in args)


# --------------------------------------------------------------------------------------
# certutil  (Microsoft docs: "certutil", Windows Commands reference)
# --------------------------------------------------------------------------------------

# Option -> (argument, description); the order certutil prints them in.
CERTUTIL_OPTIONS = {
    "f": ("", "Force overwrite"),
    "user": ("", "Use HKEY_CURRENT_USER keys or certificate store"),
    "silent": ("", "Use silent flag to acquire crypt context"),
    "split": ("", "Split embedded ASN.1 elements, and save to files"),
    "v": ("", "Verbose operation"),
    "privatekey": ("", "Display password and private key data"),
    "p": ("Password", "Password"),
    "csp": ("Provider", "Provider"),
    "config": ("Machine\\CAName", "CA and computer name string"),
    "restrict": ("RestrictionList", "Comma separated Restriction List"),
    "out": ("ColumnList", "Comma separated Column List"),
}

# verb -> (arguments, description, [(argument, description)], [modifier lines], [options])
CERTUTIL_VERBS: dict[str, tuple] = {
    "dump": ("[File]", "Dump configuration information or file",
             [], [], ["f", "silent", "split", "p"]),
    "store": ("[CertificateStoreName [CertId [OutputFile]]]", "Dump certificate store",
              [("CertificateStoreName", "Certificate store name.  Examples:\n"
                "      \"My\", \"CA\" (default), \"Root\",\n"
                "      \"ldap:///CN=Certification Authorities,CN=Public Key Services,...\""),
               ("CertId", "Certificate or CRL match token.  This can be a serial number,\n"
                "      an SHA-1 certificate, CRL, CTL or public key hash, a numeric cert\n"
                "      index (0, 1, and so on), a numeric CRL index (.0, .1, and so on),\n"
                "      a numeric CTL index (..0, ..1, and so on), a public key,\n"
                "      signature or extension ObjectId, a certificate subject Common\n"
                "      Name, an e-mail address, UPN or DNS name, a key container name\n"
                "      or CSP name, a template name or ObjectId, an EKU or Application\n"
                "      Policies ObjectId, or a CRL issuer Common Name."),
               ("OutputFile", "File to save matching cert")],
              [], ["f", "user", "silent", "split", "v"]),
    "addstore": ("CertificateStoreName InFile", "Add certificate to store",
                 [("CertificateStoreName", "Certificate store name.  See -store."),
                  ("InFile", "Certificate or CRL file to add to store.")],
                 [], ["f", "user"]),
    "delstore": ("CertificateStoreName CertId", "Delete certificate from store",
                 [("CertificateStoreName", "Certificate store name.  See -store."),
                  ("CertId", "Certificate or CRL match token.  See -store.")],
                 [], ["user"]),
    "importPFX": ("[CertificateStoreName] PFXFile [Modifiers]",
                  "Import certificate and private key",
                  [("CertificateStoreName", "Certificate store name.  See -store."),
                   ("PFXFile", "PFX file to import"),
                   ("Modifiers", "Comma separated list of one or more of the following:")],
                  ["AT_SIGNATURE -- Change the KeySpec to Signature",
                   "AT_KEYEXCHANGE -- Change the KeySpec to Key Exchange",
                   "NoExport -- Make the private key non-exportable",
                   "NoCert -- Do not import the certificate",
                   "NoChain -- Do not import the certificate chain",
                   "NoRoot -- Do not import the root certificate",
                   "Protect -- Protect keys with password",
                   "NoProtect -- Do not password protect keys based on this setting",
                   "",
                   "Defaults to personal machine store."],
                  ["f", "user", "p", "csp"]),
    "exportPFX": ("CertificateStoreName CertId PFXFile [Modifiers]",
                  "Export certificate and private key",
                  [("CertificateStoreName", "Certificate store name.  See -store."),
                   ("CertId", "Certificate or CRL match token.  See -store."),
                   ("PFXFile", "Output PFX file"),
                   ("Modifiers", "Comma separated list of one or more of the following:")],
                  ["ExtendedProperties -- Include extended properties",
                   "NoChain -- Do not include the certificate chain",
                   "NoRoot -- Do not include the root certificate"],
                  ["f", "user", "p", "split"]),
    "repairstore": ("CertificateStoreName CertIdList",
                    "Repair key association or update certificate properties or key "
                    "security descriptor",
                    [("CertificateStoreName", "Certificate store name.  See -store."),
                     ("CertIdList", "comma separated list of Certificate or CRL match\n"
                      "      tokens.  See -store CertId description.")],
                    [], ["f", "user", "silent", "split", "csp"]),
    "verifykeys": ("[KeyContainerName CACertFile]", "Verify public/private key set",
                   [("KeyContainerName", "key container name of the key to verify"),
                    ("CACertFile", "signing or encryption certificate file")],
                   ["", "If no arguments are specified, each signing CA cert is verified "
                    "against its private key.",
                    "This operation can only be performed against a local CA or local keys."],
                   ["f", "user", "silent"]),
    "csplist": ("", "List all CSPs installed on this machine", [], [], ["user", "silent",
                                                                         "csp"]),
    "key": ("[KeyContainerName | -]", "List key containers",
            [("KeyContainerName", "key container name for the key to display.\n"
              "      Defaults to all keys.  Use \"-\" for default key container.")],
            [], ["user", "silent", "csp"]),
    "delkey": ("KeyContainerName", "Delete named key container",
               [("KeyContainerName", "key container name of the key to delete.")],
               [], ["user", "silent", "csp"]),
    # Certificate Services, file and chain verbs (Microsoft's certutil reference).
    "getreg": ("[{ca|restore|policy|exit|template|enroll|chain}\\][RegistryValueName]",
               "Display registry value", [("RegistryValueName", "registry value name")],
               [], ["f", "user", "config", "v"]),
    "setreg": ("[{ca|restore|policy|exit|template|enroll|chain}\\]RegistryValueName Value",
               "Set registry value",
               [("RegistryValueName", "registry value name"),
                ("Value", "new numeric, string or date registry value or filename; a value "
                 "starting with \"+\" or \"-\" sets or clears bits")],
               [], ["f", "user", "config"]),
    "view": ("[Queue|Log|LogFail|Revoked|Ext|Attrib|CRL] [csv]",
             "Dump Certificate Services database", [], [],
             ["restrict", "out", "config", "v"]),
    "revoke": ("SerialNumber [Reason]", "Revoke Certificate",
               [("SerialNumber", "Comma separated list of certificate serial numbers to revoke"),
                ("Reason", "numeric or symbolic revocation reason: 0 CRL_REASON_UNSPECIFIED, "
                 "1 KeyCompromise, 2 CACompromise, 3 AffiliationChanged, 4 Superseded, "
                 "5 CessationOfOperation, 6 CertificateHold")],
               [], ["config"]),
    "CRL": ("[dd:hh | republish] [delta]", "Publish new CRLs [or delta CRLs only]",
            [("dd:hh", "new CRL validity period in days and hours")], [], ["config", "split"]),
    "resubmit": ("RequestId", "Resubmit a pending request",
                 [("RequestId", "pending request ID")], [], ["config"]),
    "deny": ("RequestId", "Deny a pending request",
             [("RequestId", "pending request ID")], [], ["config"]),
    "CATemplates": ("[Template]", "Display templates for CA", [], [], ["config", "v"]),
    "SetCATemplates": ("[+|-]TemplateList", "Set templates for CA",
                       [("TemplateList", "comma separated template name list; \"+\" adds, "
                         "\"-\" removes")], [], ["config"]),
    "cainfo": ("[InfoName [Index | ErrorCode]]", "Display CA information", [], [],
               ["config", "v"]),
    "ping": ("[MaxSecondsToWait | CAMachineList]",
             "Ping Active Directory Certificate Services Request interface", [], [], ["config"]),
    "GetKey": ("SearchToken [RecoveryBlobOutFile]",
               "Retrieve archived private key recovery blob",
               [("SearchToken", "Used to select the keys and certificates to be recovered: "
                 "a common name, a serial number, a UPN or a request ID"),
                ("RecoveryBlobOutFile", "output file containing a certificate chain and an "
                 "associated private key, still encrypted to one or more Key Recovery Agent "
                 "certificates")],
               [], ["config", "v"]),
    "RecoverKey": ("RecoveryBlobInFile [PFXOutFile [RecipientIndex]]",
                   "Recover archived private key", [], [], ["f", "user", "p", "v"]),
    "MergePFX": ("PFXInFileList PFXOutFile [ExtendedProperties]", "Merge PFX files",
                 [("PFXInFileList", "Comma separated PFX input file list"),
                  ("PFXOutFile", "PFX output file")], [], ["f", "user", "p"]),
    "backup": ("BackupDirectory [Incremental] [KeepLog]",
               "Backup Active Directory Certificate Services", [], [], ["f", "config", "p"]),
    "backupDB": ("BackupDirectory [Incremental] [KeepLog]",
                 "Backup Active Directory Certificate Services database", [], [],
                 ["f", "config"]),
    "backupKey": ("BackupDirectory",
                  "Backup Active Directory Certificate Services certificate and private key",
                  [], [], ["f", "config", "p"]),
    "restore": ("BackupDirectory", "Restore Active Directory Certificate Services", [], [],
                ["f", "config", "p"]),
    "restoreDB": ("BackupDirectory", "Restore Active Directory Certificate Services database",
                  [], [], ["f", "config"]),
    "restoreKey": ("BackupDirectory | PFXFile",
                   "Restore Active Directory Certificate Services certificate and private key",
                   [], [], ["f", "config", "p"]),
    "verify": ("CertFile [ApplicationPolicyList | - [IssuancePolicyList]]",
               "Verify certificate, CRL or chain", [], [], ["f", "user", "v"]),
    "asn": ("File [type]", "Parse ASN.1 file", [], [], ["v"]),
    "decode": ("InFile OutFile", "Decode Base64-encoded file", [], [], ["f"]),
    "encode": ("InFile OutFile", "Encode file to Base64", [], [], ["f"]),
    "hashfile": ("InFile [HashAlgorithm]",
                 "Generate and display cryptographic hash over a file",
                 [("HashAlgorithm", "MD2 MD4 MD5 SHA1 SHA256 SHA384 SHA512")], [], []),
}


def _certutil_verb_help(name: str) -> str:
    args, desc, params, mods, options = CERTUTIL_VERBS[name]
    lines = ["Usage:", f"  CertUtil [Options] -{name} {args}".rstrip(), f"  {desc}"]
    for param, text in params:
        lines.append(f"    {param} -- {text}")
    for m in mods:
        lines.append(f"        {m}" if m and " -- " in m else (f"  {m}" if m else ""))
    lines += ["", "Options:"]
    for o in options:
        arg, text = CERTUTIL_OPTIONS[o]
        lines.append(f"  {('-' + o + (' ' + arg if arg else '')):<26}-- {text}")
    return "\n".join(lines) + "\n\n"


def _certutil_help(args: list[str]) -> str:
    asked = [a[1:].lower() for a in args if a[:1] in "-/" and a.lower() not in HELP_WORDS]
    for word in asked:
        for name in CERTUTIL_VERBS:
            if name.lower() == word:
                return _certutil_verb_help(name)
    lines = ["Verbs:"]
    for name, (_, desc, *_rest) in CERTUTIL_VERBS.items():
        lines.append(f"  {'-' + name:<18}-- {desc}")
    lines += ["",
              "CertUtil -?              -- Display a verb list (command list)",
              "CertUtil -dump -?        -- Display help text for the \"dump\" verb",
              "CertUtil -v -?           -- Display all help text for all verbs", ""]
    if "v" in asked:
        lines += [_certutil_verb_help(n) for n in CERTUTIL_VERBS]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# certreq  (Microsoft docs: "certreq", Windows Commands reference)
# --------------------------------------------------------------------------------------

CERTREQ_VERBS = {
    "new": ("[Options] [PolicyFileIn [RequestFileOut]]",
            "Create new request as directed by PolicyFileIn",
            ["PolicyFileIn -- INF file containing a textual representation",
             "    of extensions and other request information"]),
    "submit": ("[Options] [RequestFileIn [CertFileOut [CertChainFileOut [FullResponseFileOut]]]]",
               "Submit a request to a Certification Authority.",
               ["RequestFileIn -- Base64-encoded or binary input file name:",
                "    PKCS10 certificate request, CMS certificate request or",
                "    PKCS7 certificate renewal request"]),
    "accept": ("[Options] [CertChainFileIn | FullResponseFileIn | CertFileIn]",
               "Accept and install a response to a previous new request.",
               ["CertChainFileIn -- Base64-encoded or binary input file name:",
                "    X.509 certificate or PKCS7 certificate chain"]),
}

CERTREQ_OPTIONS = [
    ("-config ConfigString", "Server\\CertificationAuthority"),
    ("-f", "Force overwrite"),
    ("-q", "Suppress all interactive dialogs"),
    ("-user", "Use Current User context for new and accept"),
    ("-machine", "Use Local Machine context for new and accept"),
]


def _certreq_help(args: list[str]) -> str:
    asked = [a[1:].lower() for a in args if a[:1] in "-/" and a.lower() not in HELP_WORDS]
    options = "\n".join(f"  {o:<34}-- {d}" for o, d in CERTREQ_OPTIONS)
    for word in asked:
        if word in CERTREQ_VERBS:
            usage, desc, params = CERTREQ_VERBS[word]
            body = "\n".join(f"    {p}" for p in params)
            return (f"Usage:\n  CertReq -{word} {usage}\n  {desc}\n{body}\n\n"
                    f"Options:\n{options}\n")
    verbs = "\n".join(f"  {'-' + v:<34}-- {d[1]}" for v, d in CERTREQ_VERBS.items())
    return ("Usage:\n  CertReq -?\n  CertReq [-v] -?\n  CertReq [-Command] -?\n\n"
            f"{verbs}\n\nOptions:\n{options}\n")


# --------------------------------------------------------------------------------------
# netsh  (Microsoft docs: "Netsh http commands" / "netsh http", Windows Commands reference)
# --------------------------------------------------------------------------------------

_NETSH_FOOTER = ("\nTo view help for a command, type the command, followed by a space, and "
                 "then\n type ?.\n")

NETSH_TOP = """
Usage: netsh [-a AliasFile] [-c Context] [-r RemoteMachine] [-u [DomainName\\]UserName] [-p Password | *]
             [Command | -f ScriptFile]

The following commands are available:

Commands in this context:
?              - Displays a list of commands.
help           - Displays a list of commands.
http           - Changes to the `netsh http' context.

The following sub-contexts are available:
 http
""" + _NETSH_FOOTER

NETSH_HTTP = """
The following commands are available:

Commands in this context:
?              - Displays a list of commands.
add            - Adds a configuration entry to a table.
delete         - Deletes a configuration entry from a table.
help           - Displays a list of commands.
show           - Displays information.
update         - Updates a configuration entry in a table.
""" + _NETSH_FOOTER

NETSH_GROUPS = {
    "add": "\nThe following commands are available:\n\nCommands in this context:\n"
           "add iplisten   - Adds an IP address to the IP listen list.\n"
           "add sslcert    - Adds an SSL server certificate binding.\n",
    "delete": "\nThe following commands are available:\n\nCommands in this context:\n"
              "delete iplisten - Deletes an IP address from the IP listen list.\n"
              "delete sslcert - Deletes SSL server certificate bindings.\n",
    "show": "\nThe following commands are available:\n\nCommands in this context:\n"
            "show iplisten  - Displays the IP listen list.\n"
            "show sslcert   - Displays SSL server certificate bindings.\n",
    "update": "\nThe following commands are available:\n\nCommands in this context:\n"
              "update sslcert - Updates an SSL server certificate binding.\n",
}

NETSH_COMMANDS = {
    "add": """
Usage: add sslcert [ipport=]IP Address:port | [hostnameport=]hostname:port | [ccs=]port
         [certhash=]CertHash
         [appid=]GUID
         [[certstorename=]CertStoreName]
         [[verifyclientcertrevocation=]enable|disable]
         [[verifyrevocationwithcachedclientcertonly=]enable|disable]
         [[usagecheck=]enable|disable]
         [[revocationfreshnesstime=]u-int]
         [[urlretrievaltimeout=]u-int]
         [[sslctlidentifier=]SslCtlIdentifier]
         [[sslctlstorename=]SslCtlStoreName]
         [[dsmapperusage=]enable|disable]
         [[clientcertnegotiation=]enable|disable]

Parameters:

    Tag                  Value
    ipport             - The IPv4 or IPv6 address and port of the binding.
                         Required unless hostnameport is given.
    hostnameport       - The Unicode host name and port of the binding (SNI).
    ccs                - The port of a Central Certificate Store binding: the
                         certificate is found by host name in the CCS share,
                         so no certhash is given.
    certhash           - The SHA hash of the certificate: 20 bytes, written as a
                         hex string. Required unless ccs is given.
    appid              - The GUID of the application that owns the binding.
                         Required.
    certstorename      - The store holding the certificate. Defaults to MY.
                         The certificate must be in the local machine context.
    verifyclientcertrevocation
                       - Turns revocation checking of client certificates on or
                         off.
    verifyrevocationwithcachedclientcertonly
                       - Whether only cached client certificate revocation data
                         is used.
    usagecheck         - Whether the usage of the certificate is checked.
                         Default is enabled.
    revocationfreshnesstime
                       - Seconds between checks for an updated CRL. Default 0.
    urlretrievaltimeout
                       - Milliseconds to wait for a remote CRL. Default 0.
    sslctlidentifier   - The certificate issuers that can be trusted.
    sslctlstorename    - The store under LOCAL_MACHINE holding SslCtlIdentifier.
    dsmapperusage      - Whether DS mappers are used. Default is disabled.
    clientcertnegotiation
                       - Whether the client certificate is negotiated. Default
                         is disabled.

Remarks: Adds an SSL server certificate binding, and the client certificate
         policies that go with it, for an IP address or host name and a port.

Examples:

    add sslcert ipport=1.1.1.1:443 certhash=0102030405060708090A0B0C0D0E0F1011121314 appid={00112233-4455-6677-8899-AABBCCDDEEFF}
    add sslcert hostnameport=www.contoso.com:443 certhash=0102030405060708090A0B0C0D0E0F1011121314 appid={00112233-4455-6677-8899-AABBCCDDEEFF} certstorename=MY
    add sslcert ccs=443 appid={00112233-4455-6677-8899-AABBCCDDEEFF}
""",
    "delete": """
Usage: delete sslcert [ipport=]IP Address:port | [hostnameport=]hostname:port | [ccs=]port

Parameters:

    Tag          Value
    ipport     - The IPv4 or IPv6 address and port of the binding to delete.
    hostnameport
               - The Unicode host name and port of the binding to delete.
    ccs        - The port of the Central Certificate Store binding to delete.

Remarks: Deletes an SSL server certificate binding and the client certificate
         policies that go with it.

Examples:

    delete sslcert ipport=1.1.1.1:443
    delete sslcert ipport=[::1]:443
    delete sslcert hostnameport=www.contoso.com:443
    delete sslcert ccs=443
""",
    "show": """
Usage: show sslcert [[ipport=]IP Address:port | [hostnameport=]hostname:port | [ccs=]port]

Parameters:

    Tag          Value
    ipport     - The IPv4 or IPv6 address and port of the binding to show.
                 Optional: without it every binding is shown.
    hostnameport
               - The Unicode host name and port of the binding to show.
    ccs        - The port of the Central Certificate Store binding to show.

Remarks: Displays SSL server certificate bindings and the client certificate
         policies that go with them.

Examples:

    show sslcert ipport=1.1.1.1:443
    show sslcert ipport=[::1]:443
    show sslcert ccs=443
    show sslcert
""",
}
# "update sslcert" takes what "add sslcert" takes and replaces the binding's settings.
NETSH_COMMANDS["update"] = (NETSH_COMMANDS["add"].replace("add sslcert", "update sslcert")
                            .replace("Adds an SSL server certificate binding, and",
                                     "Updates an SSL server certificate binding, and"))

NETSH_IPLISTEN = {
    "add": """
Usage: add iplisten [ipaddress=]<IPv4 or IPv6 address>

Parameters:

    Tag          Value
    ipaddress  - The IPv4 or IPv6 address to add to the IP listen list, without
                 a port. The list scopes the addresses the HTTP service binds;
                 "0.0.0.0" means any IPv4 address and "::" any IPv6 address.

Remarks: Adds an IP address to the IP listen list.

Examples:

    add iplisten ipaddress=fe80::1
    add iplisten ipaddress=1.1.1.1
    add iplisten ipaddress=0.0.0.0
    add iplisten ipaddress=::
""",
    "delete": """
Usage: delete iplisten [ipaddress=]<IPv4 or IPv6 address>

Parameters:

    Tag          Value
    ipaddress  - The IPv4 or IPv6 address to delete from the IP listen list.

Remarks: Deletes an IP address from the IP listen list.

Examples:

    delete iplisten ipaddress=fe80::1
    delete iplisten ipaddress=1.1.1.1
    delete iplisten ipaddress=0.0.0.0
    delete iplisten ipaddress=::
""",
    "show": """
Usage: show iplisten

Remarks: Lists the IP addresses in the IP listen list.

Examples:

    show iplisten
""",
}

NETSH_HELP_WORDS = HELP_WORDS | {"help", "?"}


def _netsh_help(args: list[str]) -> str | None:
    words = [a.lower() for a in args]
    if not words:
        return None
    if not any(w in NETSH_HELP_WORDS for w in words):
        return None
    context = [w for w in words if w not in NETSH_HELP_WORDS]
    if not context or context[0] != "http":
        return NETSH_TOP
    if len(context) == 1:
        return NETSH_HTTP
    verb = context[1]
    if verb not in NETSH_GROUPS:
        return NETSH_HTTP
    if len(context) >= 3 and context[2] == "sslcert":
        return NETSH_COMMANDS[verb]
    if len(context) >= 3 and context[2] == "iplisten" and verb in NETSH_IPLISTEN:
        return NETSH_IPLISTEN[verb]
    return NETSH_GROUPS[verb]


# --------------------------------------------------------------------------------------
# appcmd  (Microsoft docs: "Getting Started with AppCmd.exe"; appcmd's own /? output)
# --------------------------------------------------------------------------------------

APPCMD_TOP = """General purpose IIS command line administration tool.

APPCMD (command) (object-type) <identifier> < /parameter1:value1 ... >

Supported object types:

  SITE      Administration of virtual sites
  APPPOOL   Administration of application pools

(To list commands supported by each object use /?, e.g. 'appcmd.exe site /?')

General parameters:

  /?        Display context-sensitive help message.

  /text<:value>
            Generate output in text format (default).
            /text:* shows all object properties in detail view.
            /text:<attribute> shows the value of the specified
            attribute for each object.
  /xml      Generate output in XML format.
            Use this to produce output that can be sent to another
            command running in /in mode.

(For more information on each object type use /?, e.g. 'appcmd.exe site /?')
"""

APPCMD_OBJECTS = {
    "site": """Administration of virtual sites

APPCMD (command) SITE <identifier> <-parameter1:value1 ...>

Supported commands:

  list      List virtual sites
  set       Configure virtual site
  add       Add new virtual site

(To get help for each command use /?, e.g. 'appcmd.exe add site /?'.)
""",
    "apppool": """Administration of application pools

APPCMD (command) APPPOOL <identifier> <-parameter1:value1 ...>

Supported commands:

  list      List application pools
  set       Configure application pool
  add       Add new application pool

(To get help for each command use /?, e.g. 'appcmd.exe add apppool /?'.)
""",
}

APPCMD_COMMANDS = {
    ("list", "site"): """List virtual sites

APPCMD list SITE <identifier> <-parameter1:value1 ...>

List the virtual sites on the machine.  This command can be used to find a
specific site by using its identifier or url, or find all sites that match
the specified site attributes.

Supported parameters:

  identifier
            Site name or url of the site to find
  /text<:attribute>, /xml
            Output format (see 'appcmd.exe /?')

Examples:

  appcmd list sites
  appcmd list site "Default Web Site"
  appcmd list site /text:name
  appcmd list site /xml
""",
    ("add", "site"): """Add new virtual site

APPCMD add SITE <-parameter1:value1 ...>

Supported parameters:

  /name     Site name
  /physicalPath
            Physical path of the site's root virtual directory
  /bindings List of bindings in the form protocol/ip:port:host, comma separated

Example:

  appcmd add site /name:"Contoso" /physicalPath:C:\\inetpub\\contoso /bindings:http/*:80:
""",
    ("set", "site"): """Configure virtual site

APPCMD set SITE <identifier> <-parameter1:value1 ...>

Supported parameters:

  identifier, /site.name
            Site name
  /+bindings.[protocol='https',bindingInformation='*:443:']
            Add a binding to the site

Example:

  appcmd set site /site.name:"Default Web Site" "/+bindings.[protocol='https',bindingInformation='*:443:']"
""",
    ("list", "apppool"): """List application pools

APPCMD list APPPOOL <identifier> <-parameter1:value1 ...>

Supported parameters:

  identifier
            Application pool name
  /text<:attribute>, /xml
            Output format (see 'appcmd.exe /?')

Examples:

  appcmd list apppools
  appcmd list apppool /text:name
""",
    ("add", "apppool"): """Add new application pool

APPCMD add APPPOOL <-parameter1:value1 ...>

Supported parameters:

  /name     Application pool name

Example:

  appcmd add apppool /name:Contoso
""",
    ("set", "apppool"): """Configure application pool

APPCMD set APPPOOL <identifier> <-parameter1:value1 ...>

Supported parameters:

  identifier, /apppool.name
            Application pool name
  /processModel.identityType
            LocalSystem, LocalService, NetworkService, SpecificUser or
            ApplicationPoolIdentity
  /processModel.userName
            The account, with identityType SpecificUser

Example:

  appcmd set apppool /apppool.name:DefaultAppPool /processModel.identityType:NetworkService
""",
}


def _appcmd_help(args: list[str]) -> str:
    words = [a.lower() for a in args if a.lower() not in HELP_WORDS]
    words = [{"sites": "site", "apppools": "apppool"}.get(w, w) for w in words]
    if len(words) >= 2 and (words[0], words[1]) in APPCMD_COMMANDS:
        return APPCMD_COMMANDS[(words[0], words[1])]
    for w in words:
        if w in APPCMD_OBJECTS:
            return APPCMD_OBJECTS[w]
    return APPCMD_TOP


# --------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------

# Tools whose own parser prints their Windows help for "/?" (it is passed on to them).
PASS_THROUGH = {"icacls": "/?", "wevtutil": "/?", "winhttpcertcfg": "-?", "reg": "/?"}


def help_for(tool: str, args: list[str]) -> str | None:
    """The help ``winpki <tool> args`` prints, or None when args ask for none."""
    if tool == "netsh":
        return _netsh_help(args)
    if not is_help_request(args):
        return None
    if tool == "certutil":
        return _certutil_help(args)
    if tool == "certreq":
        return _certreq_help(args)
    if tool == "appcmd":
        return _appcmd_help(args)
    return None
