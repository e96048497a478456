// Enqueue every public job (sku.upsert, machine.restocked, machine.layout) through the ingress
// (POST /admin/jobs/{name}); JDK 11+ only, run as a single file: `java EnqueueJobs.java <machineCode> [jobId]`.
// Settings: ADMIN_URL (default http://127.0.0.1:3001), API_KEY (Bearer, from `pnpm cli keys:create`)
// or ADMIN_USER/ADMIN_PASSWORD. Prints "<status> <body>" per job; exits 1 unless every answer is 202.
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

public class EnqueueJobs {
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static String authorization() {
    String key = System.getenv("API_KEY");
    if (key != null && !key.isEmpty()) return "Bearer " + key;
    String pair = System.getenv("ADMIN_USER") + ":" + System.getenv("ADMIN_PASSWORD");
    return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
  }

  /** 202 {"jobId","name","queue","duplicate"}; else {"error","message","field"?,"problems"?}. */
  static int enqueue(String name, String json, String jobId) throws Exception {
    String base = System.getenv().getOrDefault("ADMIN_URL", "http://127.0.0.1:3001");
    String url = base + "/admin/jobs/" + name
        + (jobId == null ? "" : "?jobId=" + URLEncoder.encode(jobId, StandardCharsets.UTF_8));
    HttpRequest request = HttpRequest.newBuilder(URI.create(url))
        .timeout(Duration.ofSeconds(10))
        .header("content-type", "application/json")
        .header("authorization", authorization())
        .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
        .build();
    HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    System.out.println(response.statusCode() + " " + response.body());
    return response.statusCode();
  }

  public static void main(String[] args) throws Exception {
    String machine = args.length > 0 ? args[0] : "M001";
    String jobId = args.length > 1 ? args[1] : null;
    String sku = "{\"skuCode\":\"0000001\",\"skuName\":\"Cola\",\"skuUnit\":\"can\",\"skuSpec\":\"330ml\","
        + "\"originalPrice\":\"2.50\",\"skuPic\":\"https://img.example.com/cola.png\"}";
    String layout = "{\"machineCode\":\"" + machine + "\",\"containerCode\":\"01\",\"machineStatus\":10,"
        + "\"slotList\":[{\"slotNum\":\"01\",\"row\":1,\"col\":1,\"skuCode\":\"0000001\",\"skuName\":\"Cola\","
        + "\"originalPrice\":\"2.50\",\"actualPrice\":\"2.00\",\"maxInventory\":10,\"currentInventory\":8,\"slotStatus\":0}]}";
    int[] answers = {
      enqueue("sku.upsert", "{\"skus\":[" + sku + "]}", jobId),
      enqueue("machine.restocked", "{\"machineCode\":\"" + machine + "\"}", null),
      enqueue("machine.layout", layout, null),
    };
    for (int status : answers) if (status != 202) System.exit(1);
  }
}
