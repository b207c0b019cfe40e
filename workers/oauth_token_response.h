#ifndef BATCHFETCH_WORKERS_OAUTH_TOKEN_RESPONSE_H_
#define BATCHFETCH_WORKERS_OAUTH_TOKEN_RESPONSE_H_

#include <boost/system/error_code.hpp>
#include <string>

#include "workers/http_client.h"
#include "workers/token_cache.h"

namespace batchfetch {

// Reads a token endpoint's answer to a grant (RFC 6749 section 5): an access_token of
// token_type Bearer reused until 5 minutes before expires_in (half its lifetime when that
// is shorter), or a TokenError whose one-line message starts with `who` and names the
// endpoint and the OAuth error, never a secret. `ec` is the transfer's own completion
// (cancelled: passed through).
TokenCache::Fetched ReadTokenResponse(boost::system::error_code ec, const HttpResponse& response,
                                      const std::string& who, const std::string& token_uri);

}  // namespace batchfetch

#endif  // BATCHFETCH_WORKERS_OAUTH_TOKEN_RESPONSE_H_
